// The private calendar feed (SPEC §14) in the Settings dialog: creates a secret feed URL (which
// replaces the previous one) and shows it once, read-only, with a Copy button.

import { api, ApiError } from "./api.js";
import { byId, toast } from "./dom.js";

export class CalendarFeed {
  constructor() {
    this.url = byId("calendar-feed-url");
    this.error = byId("calendar-feed-error");
    this.create = byId("calendar-feed-create");
    this.copy = byId("calendar-feed-copy");
    this.create.addEventListener("click", () => this.issue());
    this.copy.addEventListener("click", () => this.copyUrl());
  }

  /** Asks for a new feed URL; when one is already shown, only after the user agrees to replace it. */
  async issue() {
    if (this.url.value && !window.confirm("A new URL stops the current one from working. Continue?")) return;
    this.error.textContent = "";
    this.create.disabled = true;
    try {
      const { url } = await api.createCalendarFeed();
      this.url.value = url;
      this.copy.disabled = false;
      this.create.textContent = "Create a new feed URL";
      this.url.select();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.error.textContent = `No feed URL: ${error.message}`;
    } finally {
      this.create.disabled = false;
    }
  }

  async copyUrl() {
    try {
      await navigator.clipboard.writeText(this.url.value);
      toast("Feed URL copied");
    } catch {
      this.url.select();
      toast("Select the URL and copy it");
    }
  }
}
