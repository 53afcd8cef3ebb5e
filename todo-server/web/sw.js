// The service worker (served at /sw.js, scope /): Web Push reminders (SPEC §14) shown as
// notifications when no tab of the app is in view. A visible tab already shows the reminder from
// its live stream (inbox.js), with the same tag, so the two never stack.
// A classic script, not a module: every browser with Web Push runs classic service workers.
"use strict";

/** The notification a push message (`{"title","body","task_id","url"}`) becomes; tolerant of junk. */
function notificationOf(message) {
  const title = typeof message?.title === "string" && message.title ? message.title : "Reminder";
  const body = typeof message?.body === "string" ? message.body : "";
  const taskId = Number.isSafeInteger(message?.task_id) ? message.task_id : null;
  // Only a path of this app: a push never opens another site.
  const url = typeof message?.url === "string" && /^\/(?!\/)/.test(message.url) ? message.url : "/";
  return {
    title,
    options: {
      body,
      tag: taskId === null ? "reminder" : `task-${taskId}`,
      data: { url },
      icon: "/assets/icon.svg",
    },
  };
}

function readMessage(data) {
  try {
    return data ? data.json() : null;
  } catch {
    return null;
  }
}

async function showUnlessInView(data) {
  const { title, options } = notificationOf(readMessage(data));
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (windows.some((client) => client.visibilityState === "visible")) return;
  await self.registration.showNotification(title, options);
}

async function openApp(url) {
  const target = new URL(url, self.location.origin);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === target.origin);
  if (open) return open.focus();
  return self.clients.openWindow(target.href);
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("push", (event) => event.waitUntil(showUnlessInView(event.data)));
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openApp(event.notification.data?.url ?? "/"));
});
