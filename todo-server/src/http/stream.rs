//! `GET /api/v1/stream`: Server-Sent Events of every change of your tasks, their status changes and
//! your reminders, with keep-alives and resumption from `Last-Event-ID`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use todo_core::model::EventId;
use tokio_stream::wrappers::BroadcastStream;

use super::error::{ApiError, ErrorBody};
use super::extract::StreamUser;
use crate::app::AppState;
use crate::stream::StreamEvent;

fn to_sse(event: StreamEvent) -> Event {
    Event::default()
        .id(event.id.to_string())
        .event(event.kind)
        .data(&*event.data)
}

/// Your live events, from which an open client stays in sync.
///
/// `event: task-event` for every create, update, completion and deletion of your tasks (`data:` the
/// `task-events` JSON: `event_type`, `task_id`, the full task in `task_data`); `event: task-update` for
/// a status change (`old_status`, `new_status`); `event: reminder` when a reminder fires. `id:` is the
/// event id; reconnecting with `Last-Event-ID` replays what was missed (the last 100 events). A
/// browser's `EventSource` cannot send headers: it may pass the token as `?access_token=`.
#[utoipa::path(get, path = "/api/v1/stream", tag = "stream",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this event"),
        ("access_token" = Option<String>, Query, description = "the bearer token, for clients that cannot set headers (EventSource)"),
    ),
    responses((status = 200, content_type = "text/event-stream", description = "the event stream: `task-event`, `task-update` and `reminder` events"), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<uuid::Uuid>().ok())
        .map(EventId);
    let (replay, live) = state.hub.subscribe(user, last);
    // A client too slow for the live buffer has lost events: its stream ends, and it reconnects
    // with `Last-Event-ID` (and a client that cannot resume from the replay buffer reloads).
    let live = BroadcastStream::new(live)
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| std::future::ready(item.ok()));
    let closing = state.closing.clone();
    let events = stream::iter(replay)
        .chain(live)
        .map(|e| Ok(to_sse(e)))
        .take_until(async move { closing.cancelled().await });
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}
