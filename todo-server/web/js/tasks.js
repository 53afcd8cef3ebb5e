// The list named "Tasks": one item per task with its priority badge, tags, due date in the task's
// zone and its rule in words. Items are kept by id and only re-drawn when the task changed, so a
// live update does not take the keyboard focus away.

import { h } from "./dom.js";
import { describe } from "./recurrence.js";
import { formatInstant } from "./time.js";

const PRIORITY = { high: "High", medium: "Medium", low: "Low" };

/** One task's list item; `actions` has `toggle(task, done)`, `edit(task)`, `history(task)`, `remove(task)`. */
export function taskItem(task, actions, now = Date.now()) {
  const titleId = `task-${task.id}-title`;
  const done = task.status === "completed";
  const dueMs = task.due_date ? Date.parse(task.due_date) : null;
  const overdue = !done && dueMs !== null && dueMs < now;
  const checkbox = h("input", {
    type: "checkbox",
    class: "done",
    "data-key": "done",
    "aria-label": "Done",
    "aria-describedby": titleId,
    checked: done,
    onchange: (event) => actions.toggle(task, event.target.checked),
  });
  const meta = [];
  for (const tag of task.tags) meta.push(h("span", { class: "chip" }, `#${tag}`));
  if (dueMs !== null) {
    meta.push(h("span", { class: "due" }, "Due ",
      h("time", { datetime: task.due_date }, formatInstant(dueMs, task.timezone))));
  }
  if (overdue) meta.push(h("span", { class: "overdue" }, "Overdue"));
  if (task.recurrence) {
    meta.push(h("span", { class: "rule" }, h("span", { "aria-hidden": "true" }, "↻ "), describe(task.recurrence, dueMs, task.timezone)));
  }
  return h("li", { class: `task${done ? " is-done" : ""}${overdue ? " is-overdue" : ""}`, "data-id": task.id },
    checkbox,
    h("div", { class: "task-main" },
      h("div", { class: "task-head" },
        h("span", { class: "title", id: titleId }, task.title),
        h("span", { class: `badge ${task.priority}` }, PRIORITY[task.priority] ?? task.priority)),
      task.description ? h("p", { class: "description" }, task.description) : null,
      meta.length ? h("div", { class: "meta" }, meta) : null),
    h("div", { class: "task-actions" },
      h("button", { type: "button", "data-key": "edit", "aria-describedby": titleId, onclick: () => actions.edit(task) }, "Edit"),
      h("button", { type: "button", "data-key": "history", "aria-describedby": titleId, onclick: () => actions.history(task) }, "History"),
      h("button", { type: "button", "data-key": "delete", class: "danger-text", "aria-describedby": titleId, onclick: () => actions.remove(task) }, "Delete")));
}

/** Keeps `list` showing `tasks` in order, re-drawing only the items whose task changed. */
export class TaskList {
  constructor(list, actions) {
    this.list = list;
    this.actions = actions;
    this.items = new Map();
  }

  show(tasks) {
    const now = Date.now();
    // Where the keyboard focus is, so that a re-drawn or removed item does not lose it.
    const focused = document.activeElement;
    const focusedItem = focused?.closest?.("li.task");
    const focusKey = focusedItem && this.list.contains(focusedItem) ? focused.dataset.key : null;
    const focusIndex = focusKey ? [...this.list.children].indexOf(focusedItem) : -1;
    let refocus = null;
    const next = new Map();
    const wanted = tasks.map((task) => {
      const key = `${task.version}|${task.status}|${task.updated_at}`;
      const known = this.items.get(task.id);
      const overdue = task.due_date && Date.parse(task.due_date) < now;
      const item = known && known.key === key && known.overdue === overdue
        ? known
        : { key, overdue, li: taskItem(task, this.actions, now) };
      if (known && known.li !== item.li) {
        known.li.replaceWith(item.li);
        if (known.li === focusedItem) refocus = item.li;
      }
      next.set(task.id, item);
      return item.li;
    });
    for (const [id, { li }] of this.items) if (!next.has(id)) li.remove();
    wanted.forEach((li, index) => {
      if (this.list.children[index] !== li) this.list.insertBefore(li, this.list.children[index] ?? null);
    });
    this.items = next;
    if (focusKey && !focusedItem.isConnected) {
      // The focused item was re-drawn (same control) or left the list (the item now in its place).
      const target = refocus ?? wanted[Math.min(focusIndex, wanted.length - 1)];
      const control = target?.querySelector(`[data-key="${refocus ? focusKey : "done"}"]`);
      if (control) control.focus();
      else this.list.closest("section")?.querySelector("h2")?.focus();
    }
  }
}
