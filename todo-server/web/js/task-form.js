// The task form, used for "New task" and "Edit task": every field of SPEC §11 with its label, the
// API's error shown beside the field it names, and a preview of the next occurrences computed by
// the server's recurrence engine.

import { api } from "./api.js";
import { debounce, h } from "./dom.js";
import { fromForm, toForm } from "./recurrence.js";
import { browserZone, formatInstant, instantToLocalInput, knownZones, zonedToInstant } from "./time.js";

/** Which input shows an error about each API field. */
const FIELD_INPUT = {
  title: "title",
  description: "description",
  priority: "priority",
  tags: "tags",
  due_date: "due",
  due: "due",
  timezone: "timezone",
  remind_before: "remind",
  recurrence: "rrule",
  rrule: "rrule",
};

const PRIORITIES = [["high", "High"], ["medium", "Medium"], ["low", "Low"]];
const REPEATS = [["none", "None"], ["daily", "Daily"], ["weekly", "Weekly"], ["monthly", "Monthly"], ["custom", "Custom"]];

function options(pairs, selected) {
  return pairs.map(([value, label]) => h("option", { value, selected: value === selected }, label));
}

/** A labelled field: `{wrap, input, error}`. */
function field(id, label, input, { hint, wide } = {}) {
  input.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error` });
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  input.setAttribute("aria-describedby", [hintEl && hintEl.id, error.id].filter(Boolean).join(" "));
  const wrap = h("div", { class: wide ? "field wide" : "field" }, h("label", { for: id }, label), input, hintEl, error);
  return { wrap, input, error };
}

export class TaskForm {
  /**
   * `prefix` keeps ids unique; `name` is the form's accessible name; `onSubmit(form)` saves and
   * may throw an ApiError, shown beside its field.
   */
  constructor(container, { prefix, name, submitLabel, onSubmit, onCancel, remindHint }) {
    this.onSubmit = onSubmit;
    const f = {};
    f.title = field(`${prefix}-title`, "Title", h("input", { type: "text", autocomplete: "off" }), { wide: true });
    f.description = field(`${prefix}-description`, "Description", h("textarea", { rows: 2 }), { wide: true });
    f.tags = field(`${prefix}-tags`, "Tags", h("input", { type: "text", autocomplete: "off", placeholder: "home, errands" }), { hint: "Comma-separated." });
    f.priority = field(`${prefix}-priority`, "Priority", h("select", {}, options(PRIORITIES, "medium")));
    f.due = field(`${prefix}-due`, "Due", h("input", { type: "datetime-local" }));
    f.timezone = field(`${prefix}-timezone`, "Time zone", h("select", {}, knownZones().map((z) => h("option", { value: z }, z))));
    f.remind = field(`${prefix}-remind`, "Remind before (minutes)", h("input", { type: "number", min: 0, step: 1, inputmode: "numeric" }), { hint: remindHint });
    f.repeat = field(`${prefix}-repeat`, "Repeat", h("select", {}, options(REPEATS, "none")));
    f.rrule = field(`${prefix}-rrule`, "RRULE", h("input", { type: "text", autocomplete: "off", spellcheck: "false", placeholder: "FREQ=WEEKLY;BYDAY=MO,WE" }), { hint: "An RFC 5545 rule, e.g. FREQ=MONTHLY;BYDAY=-1FR (the last Friday).", wide: true });
    this.fields = f;
    this.previewList = h("ol", { class: "preview-list" });
    this.preview = h("div", { class: "preview", "aria-live": "polite", hidden: true },
      h("p", { class: "label" }, "Next occurrences"), this.previewList);
    this.formError = h("p", { class: "form-error", role: "alert" });
    const buttons = [h("button", { type: "submit", class: "primary" }, submitLabel)];
    if (onCancel) buttons.push(h("button", { type: "button", onclick: onCancel }, "Cancel"));
    this.form = h("form", { class: "task-form", "aria-label": name, novalidate: true },
      f.title.wrap, f.description.wrap, f.tags.wrap, f.priority.wrap, f.due.wrap, f.timezone.wrap,
      f.remind.wrap, f.repeat.wrap, f.rrule.wrap, this.preview, this.formError,
      h("div", { class: "actions wide" }, buttons));
    container.replaceChildren(this.form);

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    const refreshPreview = debounce(() => this.updatePreview(), 250);
    f.repeat.input.addEventListener("change", () => {
      this.showRuleField();
      refreshPreview();
    });
    for (const key of ["rrule", "due", "timezone"]) {
      f[key].input.addEventListener("input", refreshPreview);
    }
    this.previewRequest = 0;
    this.reset();
  }

  /** Empties the form for a new task (the browser's zone, a 60-minute reminder). */
  reset() {
    const f = this.fields;
    this.form.reset();
    f.priority.input.value = "medium";
    f.timezone.input.value = browserZone();
    f.remind.input.value = "60";
    f.repeat.input.value = "none";
    this.clearErrors();
    this.showRuleField();
    this.updatePreview();
  }

  /** Shows `task` for editing. */
  fill(task) {
    const f = this.fields;
    this.task = task;
    f.title.input.value = task.title;
    f.description.input.value = task.description;
    f.tags.input.value = task.tags.join(", ");
    f.priority.input.value = task.priority;
    f.timezone.input.value = task.timezone;
    f.due.input.value = task.due_date ? instantToLocalInput(Date.parse(task.due_date), task.timezone) : "";
    f.remind.input.value = task.remind_before ?? "";
    const { repeat, rrule } = toForm(task.recurrence);
    f.repeat.input.value = repeat;
    f.rrule.input.value = rrule;
    this.clearErrors();
    this.showRuleField();
    this.updatePreview();
  }

  focus() {
    this.fields.title.input.focus();
  }

  showRuleField() {
    this.fields.rrule.wrap.hidden = this.fields.repeat.input.value !== "custom";
  }

  /** What the form says, in the API's terms. */
  values() {
    const f = this.fields;
    const timezone = f.timezone.input.value;
    const dueMs = zonedToInstant(f.due.input.value, timezone);
    const remind = f.remind.input.value.trim();
    return {
      title: f.title.input.value,
      description: f.description.input.value,
      tags: f.tags.input.value.split(",").map((t) => t.trim()).filter(Boolean),
      priority: f.priority.input.value,
      due_date: dueMs == null ? null : new Date(dueMs).toISOString(),
      timezone,
      remind_before: remind === "" ? null : Number(remind),
      recurrence: fromForm(f.repeat.input.value, f.rrule.input.value),
    };
  }

  /** The body of `POST /api/v1/tasks`. */
  createBody() {
    const v = this.values();
    const body = { title: v.title, priority: v.priority, timezone: v.timezone };
    if (v.description) body.description = v.description;
    if (v.tags.length) body.tags = v.tags;
    if (v.due_date) body.due_date = v.due_date;
    if (v.remind_before !== null) body.remind_before = v.remind_before;
    if (v.recurrence) body.recurrence = v.recurrence;
    return body;
  }

  /** The body of `PATCH /api/v1/tasks/{id}`: the fields that changed, and the version seen. */
  patchBody() {
    const v = this.values();
    const t = this.task;
    const body = { version: t.version };
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    if (v.title !== t.title) body.title = v.title;
    if (v.description !== t.description) body.description = v.description;
    if (!same(v.tags, t.tags)) body.tags = v.tags;
    if (v.priority !== t.priority) body.priority = v.priority;
    if (v.timezone !== t.timezone) body.timezone = v.timezone;
    if ((v.due_date ? Date.parse(v.due_date) : null) !== (t.due_date ? Date.parse(t.due_date) : null)) {
      body.due_date = v.due_date;
    }
    if (v.remind_before !== t.remind_before) body.remind_before = v.remind_before;
    if (!same(v.recurrence, t.recurrence)) body.recurrence = v.recurrence;
    return body;
  }

  clearErrors() {
    for (const { input, error } of Object.values(this.fields)) {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    }
    this.formError.textContent = "";
  }

  /** Shows an API error beside the field it names (the form's foot otherwise); focuses that field. */
  showError(error) {
    const key = FIELD_INPUT[error.field];
    const target = key && this.fields[key];
    if (key === "rrule" && this.fields.repeat.input.value !== "custom") {
      return this.showFieldError(this.fields.repeat, error.message);
    }
    if (target) return this.showFieldError(target, error.message);
    this.formError.textContent = error.message;
  }

  showFieldError(target, message) {
    target.error.textContent = message;
    target.input.setAttribute("aria-invalid", "true");
    target.input.focus();
  }

  async submit() {
    this.clearErrors();
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await this.onSubmit(this);
    } catch (error) {
      if (error.status === undefined) throw error;
      this.showError(error);
    } finally {
      button.disabled = false;
    }
  }

  /** Asks the server for the next five occurrences of the chosen rule. */
  async updatePreview() {
    const f = this.fields;
    const repeat = f.repeat.input.value;
    const request = ++this.previewRequest;
    if (repeat === "none" || (repeat === "custom" && !f.rrule.input.value.trim())) {
      this.preview.hidden = true;
      return;
    }
    const v = this.values();
    try {
      const answer = await api.preview({
        rrule: repeat === "custom" ? f.rrule.input.value.trim() : repeat,
        due: v.due_date ?? undefined,
        timezone: v.timezone,
        count: 5,
      });
      if (request !== this.previewRequest) return;
      f.rrule.error.textContent = "";
      f.rrule.input.removeAttribute("aria-invalid");
      this.previewList.replaceChildren(
        ...answer.occurrences.map((at) => h("li", {}, formatInstant(Date.parse(at), v.timezone))),
      );
      if (answer.occurrences.length === 0) this.previewList.append(h("li", {}, "No occurrences."));
      this.preview.hidden = false;
    } catch (error) {
      if (request !== this.previewRequest || error.status === undefined) return;
      this.preview.hidden = true;
      if (error.status === 400 && repeat === "custom" && error.field === "rrule") {
        f.rrule.error.textContent = error.message;
        f.rrule.input.setAttribute("aria-invalid", "true");
      }
    }
  }
}
