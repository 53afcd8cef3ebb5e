// The notification inbox: the button "Notifications" with the unread count, the list of stored
// reminders, and a browser Notification for each live reminder once permission is given.

import { api } from "./api.js";
import { byId, h, toast } from "./dom.js";
import { formatInstant } from "./time.js";

export class Inbox {
  constructor() {
    this.items = [];
    this.button = byId("inbox-button");
    this.count = byId("unread");
    this.dialog = byId("inbox-dialog");
    this.list = byId("inbox");
    this.enable = byId("enable-notifications");
    this.button.addEventListener("click", () => this.open());
    this.enable.addEventListener("click", async () => {
      await Notification.requestPermission();
      this.showPermission();
    });
    this.showPermission();
  }

  /** Offers to enable browser notifications while the browser has not been asked. */
  showPermission() {
    this.enable.hidden = !("Notification" in window) || Notification.permission !== "default";
  }

  async load() {
    this.items = (await api.notifications()).items;
    this.render();
  }

  clear() {
    this.items = [];
    this.render();
  }

  get unread() {
    return this.items.filter((n) => !n.read_at).length;
  }

  render() {
    this.count.textContent = String(this.unread);
    this.button.classList.toggle("has-unread", this.unread > 0);
    this.list.replaceChildren(...this.items.map((n) =>
      h("li", { class: n.read_at ? "" : "unread" },
        h("span", { class: "title" }, n.title),
        h("span", { class: "meta" }, `Due ${formatInstant(Date.parse(n.due_at), Intl.DateTimeFormat().resolvedOptions().timeZone)}`),
        n.read_at ? null : h("span", { class: "new" }, "New"))));
    if (this.items.length === 0) this.list.append(h("li", { class: "empty" }, "No reminders yet."));
  }

  /** A reminder from the stream: into the inbox, announced, and shown by the browser when allowed. */
  receive(reminder, id) {
    if (this.items.some((n) => n.id === id)) return;
    this.items.unshift({
      id,
      task_id: reminder.task_id,
      title: reminder.title,
      due_at: reminder.due_at,
      remind_at: reminder.remind_at,
      read_at: null,
    });
    this.render();
    const due = formatInstant(Date.parse(reminder.due_at), Intl.DateTimeFormat().resolvedOptions().timeZone);
    toast(`Reminder: ${reminder.title} (due ${due})`);
    if ("Notification" in window && Notification.permission === "granted") {
      // The tag makes several open tabs, and the service worker's Web Push (sw.js), show one
      // notification per task.
      new Notification(`Reminder: ${reminder.title}`, { body: `Due ${due}`, tag: `task-${reminder.task_id}` });
    }
  }

  /** Opens the list and marks what it shows as read. */
  async open() {
    await this.load().catch(() => {});
    this.dialog.showModal();
    const unread = this.items.filter((n) => !n.read_at);
    await Promise.all(unread.map((n) => api.markRead(n.id).then(() => {
      n.read_at = new Date().toISOString();
    }).catch(() => {})));
    this.count.textContent = String(this.unread);
    this.button.classList.toggle("has-unread", this.unread > 0);
  }
}
