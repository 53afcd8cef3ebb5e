// The REST client (SPEC §6): every request carries the bearer token in a header, never in a URL.

const TOKEN = "todo.token";
const USER = "todo.user";

/** An error answer of the API: `{"error":{"code","message","details"?}}` (or `{"error":"message"}`). */
export class ApiError extends Error {
  constructor(status, body) {
    const error = typeof body?.error === "string" ? { message: body.error } : (body?.error ?? {});
    super(error.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = error.code ?? "http_error";
    /** The request field or parameter the error names, when it names one. */
    this.field = error.details?.field ?? null;
  }
}

/** The signed-in session, kept in localStorage so every tab shares it. */
export const session = {
  get token() {
    return localStorage.getItem(TOKEN);
  },
  get user() {
    try {
      return JSON.parse(localStorage.getItem(USER) ?? "null");
    } catch {
      return null;
    }
  },
  save({ token, user }) {
    localStorage.setItem(TOKEN, token);
    localStorage.setItem(USER, JSON.stringify(user));
  },
  clear() {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(USER);
  },
};

/** Called with the error when the server no longer accepts the token. */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/** Sends a request to the API; resolves to the parsed JSON (or null), rejects with an ApiError. */
export async function request(method, path, body) {
  const headers = { accept: "application/json" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: { code: "offline", message: "The server cannot be reached." } });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json);
    if (response.status === 401 && session.token && !path.startsWith("/api/v1/auth/")) {
      onUnauthorized(error);
    }
    throw error;
  }
  return json;
}

/** A path with its query string; empty values are left out. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const api = {
  signUp: (email, password) => request("POST", "/api/v1/auth/signup", { email, password }),
  signIn: (email, password) => request("POST", "/api/v1/auth/login", { email, password }),
  listTasks: (params) => request("GET", withQuery("/api/v1/tasks", params)),
  createTask: (input) => request("POST", "/api/v1/tasks", input),
  getTask: (id) => request("GET", `/api/v1/tasks/${id}`),
  updateTask: (id, patch) => request("PATCH", `/api/v1/tasks/${id}`, patch),
  deleteTask: (id) => request("DELETE", `/api/v1/tasks/${id}`),
  completeTask: (id) => request("POST", `/api/v1/tasks/${id}/complete`),
  reopenTask: (id) => request("POST", `/api/v1/tasks/${id}/reopen`),
  history: (id) => request("GET", `/api/v1/tasks/${id}/history`),
  tags: () => request("GET", "/api/v1/tags"),
  notifications: () => request("GET", withQuery("/api/v1/notifications", { limit: 50 })),
  markRead: (id) => request("POST", `/api/v1/notifications/${id}/read`),
  preview: (params) => request("GET", withQuery("/api/v1/recurrence/preview", params)),
  chat: (message) => request("POST", "/api/v1/chat", { message }),
  settings: () => request("GET", "/api/v1/me/settings"),
  updateSettings: (patch) => request("PATCH", "/api/v1/me/settings", patch),
  createCalendarFeed: () => request("POST", "/api/v1/calendar/feed"),
  vapidKey: () => request("GET", "/api/v1/push/vapid-key"),
  subscribePush: (subscription) => request("POST", "/api/v1/push/subscriptions", subscription),
  unsubscribePush: (id) => request("DELETE", `/api/v1/push/subscriptions/${id}`),
};
