// The assistant (SPEC §12): a panel opened from the header where a person types what they want
// ("pay rent every month on the 1st at 9am !high #home", "what is due this week", "complete it")
// and reads the server's one-line reply with the tasks it created, changed or found. The server
// understands the message and remembers what "it" is; this module only carries the conversation.
// The task list follows what the assistant changed through the live stream, not through here.

import { api, ApiError } from "./api.js";
import { byId, h } from "./dom.js";
import { browserZone, formatInstant } from "./time.js";

const PRIORITY = { high: "High", medium: "Medium", low: "Low" };

/**
 * How a task in a reply reads: `{title, priority, due, done, overdue}`, the due date in the
 * person's own zone (`timeZone`, the browser's unless given), `null` when there is none.
 */
export function taskSummary(task, { now = Date.now(), timeZone = browserZone() } = {}) {
  const dueMs = task.due_date ? Date.parse(task.due_date) : null;
  const done = task.status === "completed";
  return {
    title: task.title,
    priority: PRIORITY[task.priority] ?? task.priority ?? "",
    due: dueMs === null || Number.isNaN(dueMs) ? null : `Due ${formatInstant(dueMs, timeZone, { withZone: false })}`,
    done,
    overdue: !done && dueMs !== null && dueMs < now,
  };
}

/** Whether an error is about the message itself (empty, too long): shown beside the box. */
export function isAboutMessage(error) {
  return error.status === 400 || error.status === 422;
}

/** What the conversation says when a message got no answer; the typed text stays in the box. */
export function failureMessage(error) {
  if (error.status === 503) {
    return "Sorry, the assistant is not available right now. Your message is still in the box: send it again in a moment.";
  }
  if (error.status === 0) {
    return "The server cannot be reached. Your message is still in the box: send it again once you are back online.";
  }
  if (error.status === 429) {
    return "That was a lot of messages at once. Wait a moment, then send it again.";
  }
  return `Sorry, that did not work (${error.message}). Your message is still in the box.`;
}

export class Chat {
  /** `open(task)` shows a task of a reply (the edit dialog). */
  constructor({ open }) {
    this.openTask = open;
    this.button = byId("chat-button");
    this.panel = byId("chat");
    this.log = byId("chat-log");
    this.hint = byId("chat-hint");
    this.form = byId("chat-form");
    this.input = byId("chat-input");
    this.error = byId("chat-input-error");
    this.send = this.form.querySelector("button[type=submit]");
    this.sending = false;
    this.conversation = 0; // a new one at each sign-out, so a late answer is not shown to the next person

    this.button.addEventListener("click", () => (this.panel.open ? this.close() : this.open()));
    byId("chat-close").addEventListener("click", () => this.close());
    // A non-modal dialog does not close on Escape by itself.
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented) {
        event.preventDefault();
        this.close();
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("input", () => this.clearError());
  }

  /** Opens the panel beside the list (not modal: the list stays in view) with the box focused. */
  open() {
    this.panel.show();
    document.body.classList.add("chat-open");
    this.button.setAttribute("aria-expanded", "true");
    this.input.focus();
  }

  close() {
    const hadFocus = this.panel.contains(document.activeElement);
    this.panel.close();
    document.body.classList.remove("chat-open");
    this.button.setAttribute("aria-expanded", "false");
    if (hadFocus) this.button.focus();
  }

  /** Forgets the conversation (signing out). */
  clear() {
    this.conversation += 1;
    if (this.panel.open) this.close();
    this.log.replaceChildren();
    this.hint.hidden = false;
    this.input.value = "";
    this.clearError();
  }

  clearError() {
    this.error.textContent = "";
    this.input.removeAttribute("aria-invalid");
  }

  showError(message) {
    this.error.textContent = message;
    this.input.setAttribute("aria-invalid", "true");
    this.input.focus();
  }

  async submit() {
    if (this.sending) return;
    this.clearError();
    const message = this.input.value.trim();
    if (!message) {
      this.showError("Type a message first, or “help” to see what the assistant understands.");
      return;
    }
    this.sending = true;
    this.send.disabled = true;
    this.input.focus(); // a pressed Send button is disabled now and would drop the focus
    const mine = this.append(h("div", { class: "msg user" },
      h("span", { class: "visually-hidden" }, "You: "), h("p", {}, message)));
    this.log.setAttribute("aria-busy", "true");
    const conversation = this.conversation;
    try {
      const answer = await api.chat(message);
      if (conversation !== this.conversation) return;
      // What was typed meanwhile (the next message, already) stays.
      if (this.input.value.trim() === message) this.input.value = "";
      this.reply(answer);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // The session has ended (the app signs out) or another has begun.
      if (error.status === 401 || conversation !== this.conversation) return;
      if (isAboutMessage(error)) {
        mine.remove();
        this.showError(error.message);
      } else {
        mine.classList.add("not-sent");
        mine.append(h("span", { class: "msg-state" }, "Not sent"));
        this.append(h("div", { class: "msg notice" },
          h("span", { class: "visually-hidden" }, "Assistant: "), h("p", {}, failureMessage(error))));
      }
    } finally {
      this.log.removeAttribute("aria-busy");
      this.sending = false;
      this.send.disabled = false;
    }
  }

  /** Shows the server's answer: its line, then the tasks it is about. */
  reply({ reply, tasks }) {
    const items = Array.isArray(tasks) ? tasks : [];
    this.append(h("div", { class: "msg assistant" },
      h("span", { class: "visually-hidden" }, "Assistant: "),
      h("p", {}, reply ?? ""),
      items.length ? h("ul", { class: "chat-tasks" }, items.map((task) => this.taskItem(task))) : null));
  }

  taskItem(task) {
    const s = taskSummary(task);
    return h("li", {},
      h("button", {
        type: "button",
        class: `chat-task${s.done ? " is-done" : ""}`,
        title: "Open to edit",
        onclick: () => this.openTask(task),
      },
      h("span", { class: "chat-task-title" }, s.title),
      h("span", { class: "chat-task-meta" },
        h("span", { class: `badge ${task.priority}` }, s.priority),
        s.due ? h("time", { datetime: task.due_date }, s.due) : null,
        s.overdue ? h("span", { class: "overdue" }, "Overdue") : null,
        s.done ? h("span", { class: "chat-task-state" }, "Done") : null)));
  }

  append(entry) {
    this.hint.hidden = true;
    this.log.append(entry);
    this.log.scrollTop = this.log.scrollHeight;
    return entry;
  }
}
