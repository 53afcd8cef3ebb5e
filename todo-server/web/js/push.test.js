import assert from "node:assert/strict";
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import vm from "node:vm";
import { base64UrlBytes, pushSupported } from "./push.js";

test("a VAPID key decodes to its 65 bytes", () => {
  const key = "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY";
  const bytes = base64UrlBytes(key);
  assert.equal(bytes.length, 65);
  assert.equal(bytes[0], 4);
});

test("push needs a secure context, a service worker and a push manager", () => {
  const full = { isSecureContext: true, navigator: { serviceWorker: {} }, PushManager: {}, Notification: {} };
  assert.equal(pushSupported(full), true);
  assert.equal(pushSupported({ ...full, isSecureContext: false }), false);
  assert.equal(pushSupported({ ...full, PushManager: undefined }), false);
});

/** Loads web/sw.js with a fake worker scope; returns its listeners and what it showed or opened. */
async function serviceWorker(windows) {
  const listeners = {};
  const shown = [];
  const opened = [];
  const self = {
    location: { origin: "https://todo.example" },
    addEventListener: (type, listener) => { listeners[type] = listener; },
    skipWaiting: () => {},
    clients: {
      claim: async () => {},
      matchAll: async () => windows,
      openWindow: async (url) => { opened.push(url); },
    },
    registration: { showNotification: async (title, options) => { shown.push({ title, options }); } },
  };
  const source = await readFile(new URL("../sw.js", import.meta.url), "utf8");
  vm.runInNewContext(source, { self, URL });
  const dispatch = async (type, event) => {
    let work;
    listeners[type]({ ...event, waitUntil: (promise) => { work = promise; } });
    await work;
  };
  return { dispatch, shown, opened };
}

const message = (json) => ({ data: { json: () => json } });

test("a push with no tab in view shows the reminder, tagged by task", async () => {
  const sw = await serviceWorker([{ visibilityState: "hidden", url: "https://todo.example/" }]);
  await sw.dispatch("push", message({ title: "Reminder: Pay rent", body: "due Mon 7 Dec 09:00", task_id: 7, url: "/" }));
  // Objects made in the worker's context: compare their JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(sw.shown)), [{
    title: "Reminder: Pay rent",
    options: { body: "due Mon 7 Dec 09:00", tag: "task-7", data: { url: "/" }, icon: "/assets/icon.svg" },
  }]);
});

test("a tab in view shows the reminder itself, so the worker does not", async () => {
  const sw = await serviceWorker([{ visibilityState: "visible", url: "https://todo.example/" }]);
  await sw.dispatch("push", message({ title: "Reminder: Pay rent", task_id: 7 }));
  assert.deepEqual(sw.shown, []);
});

test("a malformed push still shows a reminder, and never links off the app", async () => {
  const sw = await serviceWorker([]);
  await sw.dispatch("push", { data: { json: () => { throw new SyntaxError("not JSON"); } } });
  await sw.dispatch("push", message({ title: 3, url: "//evil.example/" }));
  assert.equal(sw.shown[0].title, "Reminder");
  assert.equal(sw.shown[1].options.data.url, "/");
  assert.equal(sw.shown[1].options.tag, "reminder");
});

test("a click focuses an open tab, or opens the app", async () => {
  let focused = 0;
  const tab = { url: "https://todo.example/", visibilityState: "hidden", focus: async () => { focused += 1; } };
  const withTab = await serviceWorker([tab]);
  const notification = { close: () => {}, data: { url: "/" } };
  await withTab.dispatch("notificationclick", { notification });
  assert.equal(focused, 1);
  const without = await serviceWorker([]);
  await without.dispatch("notificationclick", { notification });
  assert.deepEqual(without.opened, ["https://todo.example/"]);
});
