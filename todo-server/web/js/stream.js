// The live stream (GET /api/v1/stream) read with fetch, so the token travels in the Authorization
// header (EventSource would put it in the URL, where logs keep it). Reconnects with backoff and
// resumes with Last-Event-ID, so nothing published while the connection was down is missed.

/** Splits an SSE byte stream into events: calls `onEvent({id, event, data})` for each. */
export function sseParser(onEvent) {
  let buffer = "";
  let event = { id: null, event: "message", data: [] };
  return (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (event.data.length > 0) onEvent({ id: event.id, event: event.event, data: event.data.join("\n") });
        event = { id: null, event: "message", data: [] };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") event.data.push(value);
      else if (field === "event") event.event = value;
      else if (field === "id") event.id = value;
    }
  };
}

/**
 * Opens the stream for `token`. `onEvent(name, json, id)` gets each event; `onState("live" |
 * "reconnecting")` the connection's state; `onResumed()` runs after a reconnection. Returns a
 * function that closes it.
 */
export function openStream(token, { onEvent, onState = () => {}, onResumed = () => {} }) {
  const stop = new AbortController();
  let lastEventId = null;
  let failures = 0;

  async function connect() {
    const headers = { authorization: `Bearer ${token}`, accept: "text/event-stream" };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const response = await fetch("/api/v1/stream", { headers, signal: stop.signal });
    if (response.status === 401) throw Object.assign(new Error("unauthorized"), { fatal: true });
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
    onState("live");
    if (failures > 0) onResumed();
    failures = 0;
    const parse = sseParser(({ id, event, data }) => {
      if (id) lastEventId = id;
      let json = null;
      try {
        json = JSON.parse(data);
      } catch {
        return;
      }
      onEvent(event, json, id);
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parse(value);
    }
  }

  (async () => {
    while (!stop.signal.aborted) {
      try {
        await connect();
      } catch (error) {
        if (stop.signal.aborted || error.fatal) return;
      }
      if (stop.signal.aborted) return;
      failures += 1;
      onState("reconnecting");
      const delay = Math.min(15_000, 500 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  })();

  return () => stop.abort();
}
