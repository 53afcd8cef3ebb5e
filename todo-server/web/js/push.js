// Web Push for this browser (SPEC §14): subscribe with the server's VAPID key through the service
// worker (/sw.js), register the subscription with the API, and undo both.

import { api, ApiError } from "./api.js";

const STORED_ID = "todo.push.subscription";

/** The bytes of unpadded base64url `text` (the VAPID key, as `applicationServerKey`). */
export function base64UrlBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** Whether this browser can receive Web Push here (a secure context with a push manager). */
export function pushSupported(scope = globalThis) {
  return Boolean(scope.isSecureContext && scope.navigator?.serviceWorker && scope.PushManager
    && scope.Notification);
}

/** Whether this browser is subscribed now. */
export async function pushEnabled() {
  if (!pushSupported()) return false;
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = await registration?.pushManager.getSubscription();
  return Boolean(subscription && localStorage.getItem(STORED_ID));
}

/** Asks for permission, subscribes and registers this browser; throws with a message to show. */
export async function enablePush() {
  if (!pushSupported()) throw new Error("This browser cannot receive push notifications here.");
  if (await Notification.requestPermission() !== "granted") {
    throw new Error("Notifications are blocked for this site in the browser's settings.");
  }
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  const registration = await navigator.serviceWorker.ready;
  const { key } = await api.vapidKey();
  const applicationServerKey = base64UrlBytes(key);
  let subscription;
  try {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  } catch (error) {
    // Subscribed earlier with another server key: start again with this one.
    const old = await registration.pushManager.getSubscription();
    if (!old) throw error;
    await old.unsubscribe();
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  }
  const saved = await api.subscribePush(subscription.toJSON());
  localStorage.setItem(STORED_ID, saved.id);
  await api.updateSettings({ push_notifications: true });
}

/** Unregisters and unsubscribes this browser, and turns push reminders off for the account. */
export async function disablePush() {
  const id = localStorage.getItem(STORED_ID);
  if (id) {
    try {
      await api.unsubscribePush(id);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
    localStorage.removeItem(STORED_ID);
  }
  const registration = pushSupported() ? await navigator.serviceWorker.getRegistration("/") : null;
  const subscription = await registration?.pushManager.getSubscription();
  await subscription?.unsubscribe();
  await api.updateSettings({ push_notifications: false });
}
