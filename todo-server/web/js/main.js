// The app: signing in, the task form, finding and listing tasks, dialogs, the assistant, settings,
// and the live stream that keeps every open tab in sync. A client of the REST API (SPEC §6) and
// nothing more.

import { api, ApiError, session, whenUnauthorized } from "./api.js";
import { Chat } from "./chat.js";
import { byId, debounce, h, toast } from "./dom.js";
import { Inbox } from "./inbox.js";
import { adoptBrowserZone, Settings } from "./settings.js";
import { openStream } from "./stream.js";
import { TaskForm } from "./task-form.js";
import { TaskList } from "./tasks.js";
import { formatInstant } from "./time.js";

const PAGE = 50;
const MAX_PAGE = 200;

const finder = byId("finder");
const listStatus = byId("list-status");
const loadMore = byId("load-more");
const state = {
  sort: "due_date",
  order: "asc",
  items: [],
  nextCursor: null,
  request: 0,
  closeStream: null,
};

// ----- signing in and out -----

const authForm = byId("auth-form");
const authFields = { email: byId("auth-email"), password: byId("auth-password") };

function clearAuthErrors() {
  for (const input of Object.values(authFields)) {
    input.removeAttribute("aria-invalid");
    byId(`${input.id}-error`).textContent = "";
  }
  byId("auth-error").textContent = "";
}

authForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearAuthErrors();
  const signUp = event.submitter?.value === "signup";
  const email = authFields.email.value;
  const password = authFields.password.value;
  try {
    const answer = signUp ? await api.signUp(email, password) : await api.signIn(email, password);
    session.save(answer);
    // The assistant reads "tomorrow 9am" in the account's zone: a new account takes the browser's.
    if (signUp) await adoptBrowserZone();
    authForm.reset();
    await showApp();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const input = authFields[error.field];
    if (input) {
      byId(`${input.id}-error`).textContent = error.message;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } else {
      byId("auth-error").textContent = error.message;
    }
  }
});

function showAuth(message) {
  state.closeStream?.();
  state.closeStream = null;
  byId("app").hidden = true;
  byId("account").hidden = true;
  byId("auth").hidden = false;
  byId("auth-error").textContent = message ?? "";
  authFields.email.focus();
}

function signOut(message) {
  session.clear();
  inbox.clear();
  chat.clear();
  settings.close();
  state.items = [];
  tasks.show([]);
  showAuth(message);
}

byId("sign-out").addEventListener("click", () => signOut());
whenUnauthorized(() => signOut("Your session has ended. Sign in again."));
// Signing out in one tab signs out every tab.
window.addEventListener("storage", (event) => {
  if (event.key === "todo.token" && !event.newValue && !byId("app").hidden) signOut();
});

async function showApp() {
  byId("auth").hidden = true;
  byId("app").hidden = false;
  byId("account").hidden = false;
  byId("who").textContent = session.user?.email ?? "";
  newTask.reset();
  connectStream();
  await Promise.all([refresh(), refreshTags(), inbox.load().catch(() => {})]);
  newTask.focus();
}

// ----- the new-task form -----

const newTask = new TaskForm(byId("new-task"), {
  prefix: "new",
  name: "New task",
  submitLabel: "Add task",
  remindHint: "Minutes before the due date; 60 when left empty.",
  onSubmit: async (form) => {
    const sent = JSON.stringify(form.values());
    const task = await api.createTask(form.createBody());
    // Keep what was typed while the request was on its way (the next task, already).
    if (JSON.stringify(form.values()) === sent) form.reset();
    form.focus();
    toast(`Added “${task.title}”`);
    await Promise.all([refresh(), refreshTags()]);
  },
});

// ----- finding tasks -----

function query() {
  const data = new FormData(finder);
  return {
    q: data.get("q")?.trim(),
    status: data.get("status"),
    priority: data.get("priority"),
    tags: data.get("tags"),
    sort: state.sort,
    order: state.order,
  };
}

function showSort() {
  for (const button of finder.querySelectorAll("[data-sort]")) {
    const active = button.dataset.sort === state.sort;
    button.setAttribute("aria-pressed", String(active));
    button.querySelector(".dir").textContent = active ? (state.order === "asc" ? " ↑" : " ↓") : "";
  }
  const label = finder.querySelector(`[data-sort="${state.sort}"]`).getAttribute("aria-label");
  byId("sort-order").textContent = `Sorted by ${label.toLowerCase()}, ${state.order === "asc" ? "ascending" : "descending"}`;
}

for (const button of finder.querySelectorAll("[data-sort]")) {
  button.addEventListener("click", () => {
    if (state.sort === button.dataset.sort) {
      state.order = state.order === "asc" ? "desc" : "asc";
    } else {
      state.sort = button.dataset.sort;
      state.order = "asc";
    }
    showSort();
    refresh(); // a new order of the tasks already loaded
  });
}
finder.addEventListener("submit", (event) => event.preventDefault());
byId("find-q").addEventListener("input", debounce(() => refresh({ reset: true }), 250));
for (const id of ["find-status", "find-priority", "find-tag"]) {
  byId(id).addEventListener("change", () => refresh({ reset: true }));
}

function showListError(error) {
  const message = byId("find-q-error");
  message.textContent = error ? error.message : "";
}

function showStatus() {
  const n = state.items.length;
  const filtered = Object.entries(query()).some(([k, v]) => v && !["sort", "order", "status"].includes(k) && v !== "")
    || query().status !== "all";
  listStatus.textContent = n === 0
    ? (filtered ? "No tasks match." : "No tasks yet. Add one above.")
    : `${n}${state.nextCursor ? "+" : ""} task${n === 1 ? "" : "s"}`;
  loadMore.hidden = !state.nextCursor;
}

/** Re-reads the list (as many items as are shown, or the first page after a new query). */
async function refresh({ reset = false } = {}) {
  const request = ++state.request;
  const limit = reset ? PAGE : Math.min(MAX_PAGE, Math.max(PAGE, state.items.length));
  try {
    const page = await api.listTasks({ ...query(), limit });
    if (request !== state.request) return;
    showListError(null);
    state.items = page.items;
    state.nextCursor = page.next_cursor;
    tasks.show(state.items);
    showStatus();
  } catch (error) {
    if (request === state.request && error instanceof ApiError) showListError(error);
  }
}

loadMore.addEventListener("click", async () => {
  if (!state.nextCursor) return;
  const request = ++state.request;
  try {
    const page = await api.listTasks({ ...query(), limit: PAGE, cursor: state.nextCursor });
    if (request !== state.request) return;
    const firstNew = page.items[0]?.id;
    state.items = state.items.concat(page.items);
    state.nextCursor = page.next_cursor;
    tasks.show(state.items);
    showStatus();
    // Keyboard users continue from the first new item.
    tasks.items.get(firstNew)?.li.querySelector("input")?.focus();
  } catch (error) {
    if (error instanceof ApiError) showListError(error);
  }
});

async function refreshTags() {
  const select = byId("find-tag");
  const chosen = select.value;
  const { items } = await api.tags();
  select.replaceChildren(h("option", { value: "" }, "Any"),
    ...items.map(({ tag, count }) => h("option", { value: tag }, `${tag} (${count})`)));
  select.value = items.some((t) => t.tag === chosen) ? chosen : "";
}

// ----- acting on a task -----

const editDialog = byId("edit-dialog");
const editForm = new TaskForm(byId("edit-task"), {
  prefix: "edit",
  name: "Edit task",
  submitLabel: "Save",
  remindHint: "Minutes before the due date; empty for no reminder.",
  onCancel: () => editDialog.close(),
  onSubmit: async (form) => {
    const body = form.patchBody();
    if (Object.keys(body).length > 1) {
      try {
        await api.updateTask(form.task.id, body);
      } catch (error) {
        if (error.status !== 409) throw error;
        form.fill(await api.getTask(form.task.id));
        throw error;
      }
    }
    editDialog.close();
    await Promise.all([refresh(), refreshTags()]);
  },
});

function confirmDelete(task) {
  const dialog = byId("delete-dialog");
  byId("delete-text").textContent = `“${task.title}” will be deleted${task.recurrence ? ", and its series ends" : ""}.`;
  dialog.returnValue = "";
  openFor(dialog, task, "delete");
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true }));
}

const FIELDS = ["title", "description", "status", "priority", "tags", "due_date", "timezone", "remind_before", "recurrence"];

function shown(field, value, task) {
  if (value === null || value === undefined || value === "") return "none";
  if (field === "due_date") return formatInstant(Date.parse(value), task.timezone);
  if (Array.isArray(value)) return value.join(", ") || "none";
  if (typeof value === "object") return value.rrule ?? JSON.stringify(value);
  return String(value);
}

async function showHistory(task) {
  const { items } = await api.history(task.id);
  byId("history-title").textContent = `History of “${task.title}”`;
  let before = null;
  byId("history").replaceChildren(...items.map((entry) => {
    const after = entry.task ?? {};
    const changes = before
      ? FIELDS.filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]))
        .map((f) => h("li", {}, `${f.replace("_", " ")}: ${shown(f, before[f], before)} → ${shown(f, after[f], after)}`))
      : [];
    before = after;
    return h("li", {},
      h("span", { class: "action" }, entry.action), " ",
      h("time", { datetime: entry.at }, formatInstant(Date.parse(entry.at), Intl.DateTimeFormat().resolvedOptions().timeZone)),
      changes.length ? h("ul", { class: "changes" }, changes) : null);
  }));
  if (items.length === 0) byId("history").append(h("li", {}, "No history recorded yet."));
  openFor(byId("history-dialog"), task, "history");
}

/**
 * Opens `dialog` for `task`'s `key` control; when it closes and that control was re-drawn meanwhile
 * (a live update), focus goes to the new one, or to the list when the task has left it.
 */
function openFor(dialog, task, key) {
  const opener = document.activeElement;
  dialog.addEventListener("close", () => {
    // The browser has put the focus back on the opener before this event when the opener is still
    // in the page. When it is not, where the focus is now depends on whether the browser has run its
    // focus fixup yet, so it is decided here rather than read.
    if (opener?.isConnected) return;
    const control = tasks.items.get(task.id)?.li.querySelector(`[data-key="${key}"]`);
    (control ?? byId("tasks-title")).focus();
  }, { once: true });
  dialog.showModal();
}

const tasks = new TaskList(byId("tasks"), {
  async toggle(task, done) {
    try {
      if (done) {
        const { next } = await api.completeTask(task.id);
        toast(next ? `Completed “${task.title}”; next one due ${formatInstant(Date.parse(next.due_date), next.timezone)}` : `Completed “${task.title}”`);
      } else {
        await api.reopenTask(task.id);
      }
    } catch (error) {
      if (error instanceof ApiError) toast(error.message);
    }
    await refresh();
  },
  edit(task) {
    editForm.fill(task);
    openFor(editDialog, task, "edit");
    editForm.focus();
  },
  async history(task) {
    await showHistory(task).catch((error) => toast(error.message));
  },
  async remove(task) {
    if (!(await confirmDelete(task))) return;
    try {
      await api.deleteTask(task.id);
      toast(`Deleted “${task.title}”`);
    } catch (error) {
      if (error instanceof ApiError && error.status !== 404) toast(error.message);
    }
    await Promise.all([refresh(), refreshTags()]);
  },
});

// ----- the assistant and settings -----

/** A task of the assistant's reply, opened as it is now (it may have changed since). */
async function openFromChat(task) {
  try {
    tasks.actions.edit(await api.getTask(task.id));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    toast(error.status === 404 ? `“${task.title}” no longer exists.` : error.message);
  }
}

const chat = new Chat({ open: openFromChat });
const settings = new Settings();

// ----- live -----

const inbox = new Inbox();
const refreshSoon = debounce(() => {
  refresh();
  refreshTags().catch(() => {});
}, 100);

function connectStream() {
  state.closeStream?.();
  state.closeStream = openStream(session.token, {
    onEvent(name, data, id) {
      if (name === "task-event" || name === "task-update") refreshSoon();
      if (name === "reminder") inbox.receive(data, id);
    },
    onState(connection) {
      document.body.dataset.stream = connection;
    },
    onResumed: refreshSoon,
  });
}

// ----- start -----

showSort();
(session.token ? showApp() : Promise.resolve(showAuth())).finally(() => performance.mark("todo:ready"));
