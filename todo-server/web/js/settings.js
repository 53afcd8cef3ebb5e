// The account's settings (SPEC §12, §14): the time zone, in which the assistant reads "tomorrow 9am"
// and "this week" (taken from the browser at sign-up), and Web Push for this browser. Changed in
// the Settings dialog.

import { api, ApiError } from "./api.js";
import { CalendarFeed } from "./calendar-feed.js";
import { byId, h, toast } from "./dom.js";
import { disablePush, enablePush, pushEnabled, pushSupported } from "./push.js";
import { browserZone, knownZones } from "./time.js";

/** The zones to choose from: every zone the browser knows, and `current` even when it does not. */
export function zoneChoices(current, known = knownZones()) {
  const zones = new Set(known);
  if (current) zones.add(current);
  return [...zones].sort();
}

/** Gives a new account the browser's zone; the default (UTC) stays when that fails. */
export async function adoptBrowserZone() {
  try {
    await api.updateSettings({ timezone: browserZone() });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
}

export class Settings {
  constructor() {
    this.dialog = byId("settings-dialog");
    this.form = byId("settings-form");
    this.zone = byId("settings-timezone");
    this.zoneError = byId("settings-timezone-error");
    this.formError = byId("settings-error");
    this.save = this.form.querySelector("button[type=submit]");
    byId("settings-button").addEventListener("click", () => this.open());
    byId("settings-cancel").addEventListener("click", () => this.dialog.close());
    byId("settings-use-browser").addEventListener("click", () => {
      this.showZones(browserZone());
      this.zone.focus();
    });
    byId("settings-browser-zone").textContent = browserZone();
    this.calendarFeed = new CalendarFeed();
    this.push = byId("settings-push");
    this.pushError = byId("settings-push-error");
    this.push.addEventListener("change", () => this.togglePush());
    this.zone.addEventListener("change", () => this.clearErrors());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  showZones(selected) {
    this.zone.replaceChildren(...zoneChoices(selected).map((z) => h("option", { value: z }, z)));
    this.zone.value = selected;
  }

  clearErrors() {
    this.zoneError.textContent = "";
    this.zone.removeAttribute("aria-invalid");
    this.formError.textContent = "";
  }

  /** Reads the settings, then shows them; a failed read is said in the dialog. */
  async open() {
    this.clearErrors();
    try {
      const settings = await api.settings();
      this.showZones(settings?.timezone || "UTC");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.showZones(browserZone());
      this.formError.textContent = `Your settings could not be read: ${error.message}`;
    }
    await this.showPush();
    this.dialog.showModal();
    this.zone.focus();
  }

  /** The push toggle: this browser's subscription, or disabled where push cannot work. */
  async showPush() {
    this.pushError.textContent = "";
    if (!pushSupported()) {
      this.push.checked = false;
      this.push.disabled = true;
      this.pushError.textContent = "This browser cannot receive push notifications here.";
      return;
    }
    this.push.disabled = false;
    this.push.checked = await pushEnabled().catch(() => false);
  }

  /** Subscribes or unsubscribes this browser at once (not on Save); a failure is said beside it. */
  async togglePush() {
    const wanted = this.push.checked;
    this.push.disabled = true;
    this.pushError.textContent = "";
    try {
      if (wanted) await enablePush();
      else await disablePush();
      toast(wanted ? "Push notifications on for this browser" : "Push notifications off");
    } catch (error) {
      this.push.checked = !wanted;
      this.pushError.textContent = error.message;
    } finally {
      this.push.disabled = false;
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  async submit() {
    this.clearErrors();
    this.save.disabled = true;
    try {
      const settings = await api.updateSettings({ timezone: this.zone.value });
      this.dialog.close();
      toast(`Time zone set to ${settings?.timezone ?? this.zone.value}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 400 || error.status === 422) {
        this.zoneError.textContent = error.message;
        this.zone.setAttribute("aria-invalid", "true");
        this.zone.focus();
      } else {
        this.formError.textContent = error.message;
      }
    } finally {
      this.save.disabled = false;
    }
  }
}
