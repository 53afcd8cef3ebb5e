// A new user's first session through types that openapi-typescript generated from the live
// /openapi.json (schema.d.ts, written by the run script) and calls made with openapi-fetch: sign up,
// create a task with a preset recurrence and one with an RRULE, list, complete (the answer carries the
// next occurrence), update. `tsc` type-checks the calls against the document before anything runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type TaskInput = components["schemas"]["TaskInput"];

const baseUrl = process.env.TODO_CONTRACT_URL;
if (!baseUrl) throw new Error("TODO_CONTRACT_URL is not set");

test("a client typed by openapi-typescript creates, lists, completes and updates tasks", async () => {
  const anonymous = createClient<paths>({ baseUrl });
  const email = `ts-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const signedUp = await anonymous.POST("/api/v1/auth/signup", {
    body: { email, password: "a good password" },
  });
  assert.equal(signedUp.response.status, 201);
  assert.ok(signedUp.data);
  const api = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${signedUp.data.token}` },
  });

  const weeklyInput: TaskInput = {
    title: "Water the plants",
    priority: "high",
    tags: ["home"],
    due_date: "2030-01-07T09:00:00Z",
    timezone: "Europe/London",
    recurrence: "weekly",
  };
  const weekly = await api.POST("/api/v1/tasks", { body: weeklyInput });
  assert.equal(weekly.response.status, 201, JSON.stringify(weekly.error));
  assert.ok(weekly.data);
  assert.equal(weekly.data.recurrence, "weekly");

  const ruled = await api.POST("/api/v1/tasks", {
    body: {
      title: "Team sync",
      due_date: "2030-01-07T10:00:00Z",
      recurrence: { rrule: "FREQ=WEEKLY;BYDAY=MO,WE", anchor: "due" },
    },
  });
  assert.equal(ruled.response.status, 201, JSON.stringify(ruled.error));
  assert.ok(ruled.data);
  assert.deepEqual(ruled.data.recurrence, { rrule: "FREQ=WEEKLY;BYDAY=MO,WE", anchor: "due" });

  const plain = await api.POST("/api/v1/tasks", { body: { title: "Call mum" } });
  assert.equal(plain.response.status, 201, JSON.stringify(plain.error));

  const page = await api.GET("/api/v1/tasks", {
    params: { query: { status: "pending", sort: "title" } },
  });
  assert.ok(page.data, JSON.stringify(page.error));
  assert.deepEqual(
    page.data.items.map((t) => t.title),
    ["Call mum", "Team sync", "Water the plants"],
  );

  const done = await api.POST("/api/v1/tasks/{id}/complete", {
    params: { path: { id: weekly.data.id } },
  });
  assert.ok(done.data, JSON.stringify(done.error));
  assert.equal(done.data.task.status, "completed");
  assert.ok(done.data.next, "a weekly task's completion answers its next occurrence");
  assert.equal(done.data.next.due_date, "2030-01-14T09:00:00Z");

  const changed = await api.PATCH("/api/v1/tasks/{id}", {
    params: { path: { id: ruled.data.id } },
    body: { title: "Team sync (moved)", priority: "low", recurrence: "daily", version: ruled.data.version },
  });
  assert.ok(changed.data, JSON.stringify(changed.error));
  assert.equal(changed.data.title, "Team sync (moved)");
  assert.equal(changed.data.priority, "low");
  assert.equal(changed.data.recurrence, "daily");
  assert.equal(changed.data.version, ruled.data.version + 1);
});
