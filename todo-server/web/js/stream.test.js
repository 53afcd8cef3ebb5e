import assert from "node:assert/strict";
import { test } from "node:test";
import { sseParser } from "./stream.js";

test("events split across chunks arrive whole, with their id and name", () => {
  const events = [];
  const feed = sseParser((e) => events.push(e));
  feed("id: 1\nevent: task-event\nda");
  feed('ta: {"a":1}\n\n: keep-alive\n\n');
  feed("id:2\r\nevent:reminder\r\ndata:x\r\ndata:y\r\n\r\n");
  assert.deepEqual(events, [
    { id: "1", event: "task-event", data: '{"a":1}' },
    { id: "2", event: "reminder", data: "x\ny" },
  ]);
});

test("an event without data is not dispatched", () => {
  const events = [];
  const feed = sseParser((e) => events.push(e));
  feed("event: nothing\n\n");
  assert.deepEqual(events, []);
});
