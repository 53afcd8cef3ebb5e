//! Waiting on observable state instead of sleeping: poll until a condition holds, with a deadline.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Longest pause between two polls; the first polls follow each other quickly.
const LONGEST_PAUSE: Duration = Duration::from_millis(200);

/// Polls `probe` until it answers `Ok(value)` and returns the value. `Err(seen)` says what the
/// probe saw instead; once `within` has passed, the wait panics with `what` and the last `seen`,
/// so a test that waits fails saying what it was waiting for and how far it got.
///
/// ```no_run
/// # async fn demo(handled: &std::sync::atomic::AtomicUsize) {
/// use std::sync::atomic::Ordering;
/// use std::time::Duration;
///
/// todo_testkit::wait_until("five messages handled", Duration::from_secs(20), || async {
///     match handled.load(Ordering::SeqCst) {
///         n if n >= 5 => Ok(n),
///         n => Err(format!("{n} handled")),
///     }
/// })
/// .await;
/// # }
/// ```
pub async fn wait_until<T, Seen, Probe, Fut>(what: &str, within: Duration, mut probe: Probe) -> T
where
    Probe: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Seen>>,
    Seen: Display,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(10);
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {seen}")
            }
            Err(_) => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}
