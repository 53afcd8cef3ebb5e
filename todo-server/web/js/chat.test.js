import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "./api.js";
import { failureMessage, isAboutMessage, taskSummary } from "./chat.js";

const task = (fields) => ({
  id: "t1",
  title: "Pay rent",
  status: "pending",
  priority: "high",
  due_date: null,
  timezone: "America/New_York",
  tags: [],
  ...fields,
});
const now = Date.UTC(2026, 11, 1, 12, 0);

test("a task in a reply reads its title, priority and due date in the person's zone", () => {
  const s = taskSummary(task({ due_date: "2027-01-01T08:00:00Z" }), { now, timeZone: "Europe/Paris" });
  assert.equal(s.title, "Pay rent");
  assert.equal(s.priority, "High");
  assert.match(s.due, /^Due /);
  assert.match(s.due, /9:00/); // 08:00Z is 09:00 in Paris, whatever the task's own zone
  assert.match(s.due, /1 Jan|Jan 1/);
  assert.doesNotMatch(s.due, /GMT|CET|EST/);
  assert.equal(s.done, false);
  assert.equal(s.overdue, false);
});

test("a task without a due date has none to show, and is never overdue", () => {
  const s = taskSummary(task({ priority: "low" }), { now, timeZone: "UTC" });
  assert.equal(s.due, null);
  assert.equal(s.priority, "Low");
  assert.equal(s.overdue, false);
});

test("a pending task past its due date is overdue; a completed one is done", () => {
  const past = "2026-11-30T09:00:00Z";
  assert.equal(taskSummary(task({ due_date: past }), { now, timeZone: "UTC" }).overdue, true);
  const done = taskSummary(task({ due_date: past, status: "completed" }), { now, timeZone: "UTC" });
  assert.equal(done.done, true);
  assert.equal(done.overdue, false);
});

test("an unknown priority is shown as the server wrote it", () => {
  assert.equal(taskSummary(task({ priority: "urgent" }), { now, timeZone: "UTC" }).priority, "urgent");
});

test("the message's own errors go beside the box; the others into the conversation", () => {
  const error = (status, message = "message must not be empty") => new ApiError(status, { error: { code: "x", message } });
  assert.equal(isAboutMessage(error(400)), true);
  assert.equal(isAboutMessage(error(422)), true);
  assert.equal(isAboutMessage(error(503)), false);
  assert.match(failureMessage(error(503)), /not available right now.*still in the box/);
  assert.match(failureMessage(error(0)), /cannot be reached/);
  assert.match(failureMessage(error(500, "internal error")), /internal error.*still in the box/);
});

test("an error body that is a bare string still gives its message", () => {
  assert.equal(new ApiError(503, { error: "the assistant is unavailable" }).message, "the assistant is unavailable");
  assert.equal(new ApiError(502, null).message, "the server answered 502");
});
