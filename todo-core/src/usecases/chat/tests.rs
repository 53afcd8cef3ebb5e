use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};

use super::*;
use crate::memory::{
    InMemoryScheduler, InMemoryStateStore, InMemoryTaskRepository, InMemoryUserRepository,
};
use crate::model::TimeZone;
use crate::ports::{User, UserSettings};
use crate::usecases::mocks::{alice, CountingIds, FixedClock};

/// Saturday 2026-03-28 12:00 UTC: Paris moves its clocks forward the next night.
fn saturday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap()
}

fn bob() -> UserId {
    UserId(uuid::Uuid::from_u128(0xB0B))
}

struct Fixture {
    chat: ChatService,
    tasks: TaskService,
    conversations: Arc<InMemoryStateStore>,
}

async fn fixture() -> Fixture {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(saturday()));
    let tasks = TaskService::new(
        Arc::new(InMemoryTaskRepository::new()),
        Arc::new(InMemoryScheduler::new()),
        clock.clone(),
        Arc::new(CountingIds::default()),
    );
    let users = Arc::new(InMemoryUserRepository::new());
    for (id, email) in [(alice(), "alice@example.com"), (bob(), "bob@example.com")] {
        users
            .create_user(User {
                id,
                email: email.to_owned(),
                name: None,
                password_hash: String::new(),
                created_at: saturday(),
                settings: UserSettings {
                    timezone: TimeZone::parse("Europe/Paris").unwrap(),
                    ..UserSettings::default()
                },
            })
            .await
            .unwrap();
    }
    let conversations = Arc::new(InMemoryStateStore::new());
    Fixture {
        chat: ChatService::new(tasks.clone(), users, conversations.clone(), clock),
        tasks,
        conversations,
    }
}

impl Fixture {
    async fn say(&self, user: UserId, message: &str) -> ChatReply {
        self.chat
            .reply(user, message)
            .await
            .unwrap_or_else(|e| panic!("{message}: {e}"))
    }

    async fn all(&self, user: UserId) -> Vec<Task> {
        let query = QueryParams::default().parse().unwrap();
        self.tasks.list_tasks(user, &query).await.unwrap().items
    }
}

fn titles(tasks: &[Task]) -> Vec<&str> {
    tasks.iter().map(|t| t.title.as_str()).collect()
}

#[tokio::test]
async fn an_added_task_is_read_in_the_users_time_zone_across_the_clock_change() {
    let f = fixture().await;
    let reply = f.say(alice(), "call mum tomorrow 6pm #family").await;
    let [task] = reply.tasks.as_slice() else {
        panic!("{reply:?}")
    };
    assert_eq!(task.title.as_str(), "call mum");
    // Sunday 29 March 18:00 in Paris is summer time (UTC+2).
    assert_eq!(
        task.due_date,
        Some(Utc.with_ymd_and_hms(2026, 3, 29, 16, 0, 0).unwrap())
    );
    assert_eq!(reply.reply, "Added \"call mum\", due Sun 29 Mar 18:00.");
    assert_eq!(f.all(alice()).await.len(), 1);
}

#[tokio::test]
async fn it_is_the_task_last_mentioned_and_the_conversation_is_kept_per_user() {
    let f = fixture().await;
    f.say(alice(), "pay rent").await;
    f.say(bob(), "water plants").await;
    let reply = f.say(alice(), "complete it").await;
    assert_eq!(reply.reply, "Completed \"pay rent\".");
    assert_eq!(reply.tasks[0].status, Status::Completed);
    let stored = f
        .conversations
        .get(&conversation_key(alice()))
        .await
        .unwrap()
        .expect("the conversation is kept");
    assert_eq!(stored.value["last_task"], reply.tasks[0].id.0);

    let bobs = f.all(bob()).await;
    assert_eq!(
        bobs[0].status,
        Status::Pending,
        "bob's task is not alice's `it`"
    );
}

#[tokio::test]
async fn it_without_a_conversation_asks_which_task() {
    let f = fixture().await;
    f.say(alice(), "pay rent").await;
    let fresh = fixture().await;
    let reply = fresh.say(alice(), "delete it").await;
    assert!(reply.reply.starts_with("Which task?"), "{}", reply.reply);
    assert!(reply.tasks.is_empty());
}

#[tokio::test]
async fn a_title_equal_to_the_words_wins_over_other_matches() {
    let f = fixture().await;
    f.say(alice(), "pay rent deposit").await;
    f.say(alice(), "pay rent").await;
    f.say(alice(), "buy milk").await;
    let reply = f.say(alice(), "complete pay rent").await;
    assert_eq!(titles(&reply.tasks), ["pay rent"]);
    let pending: Vec<Task> = f
        .all(alice())
        .await
        .into_iter()
        .filter(|t| t.status == Status::Pending)
        .collect();
    let mut left = titles(&pending);
    left.sort_unstable();
    assert_eq!(left, ["buy milk", "pay rent deposit"]);
}

#[tokio::test]
async fn several_matches_are_listed_back_and_nothing_changes() {
    let f = fixture().await;
    f.say(alice(), "pay rent march").await;
    f.say(alice(), "pay rent april").await;
    let reply = f.say(alice(), "delete pay rent").await;
    assert!(reply.reply.starts_with("Which one?"), "{}", reply.reply);
    assert_eq!(reply.tasks.len(), 2);
    assert_eq!(f.all(alice()).await.len(), 2, "nothing was deleted");
}

#[tokio::test]
async fn a_task_that_is_not_there_is_said_so() {
    let f = fixture().await;
    f.say(bob(), "pay rent").await;
    let reply = f.say(alice(), "complete pay rent").await;
    assert_eq!(reply.reply, "I found no task matching \"pay rent\".");
    assert!(reply.tasks.is_empty());
    assert_eq!(
        f.all(bob()).await[0].status,
        Status::Pending,
        "another user's task is not found"
    );
}

#[tokio::test]
async fn a_completed_task_is_reopened_and_a_pending_one_preferred_for_completion() {
    let f = fixture().await;
    f.say(alice(), "pay rent").await;
    f.say(alice(), "complete pay rent").await;
    f.say(alice(), "pay rent").await;
    let reopened = f.say(alice(), "reopen pay rent").await;
    assert_eq!(reopened.reply, "Reopened \"pay rent\".");
    let all = f.all(alice()).await;
    assert!(all.iter().all(|t| t.status == Status::Pending), "{all:?}");
}

#[tokio::test]
async fn a_task_is_moved_to_a_day_in_the_users_time_zone() {
    let f = fixture().await;
    f.say(alice(), "pay rent tomorrow 9am").await;
    let reply = f.say(alice(), "move pay rent to friday 10:30").await;
    // Friday 3 April 10:30 in Paris (UTC+2).
    let due = Utc.with_ymd_and_hms(2026, 4, 3, 8, 30, 0).unwrap();
    assert_eq!(reply.tasks[0].due_date, Some(due));
    assert_eq!(reply.reply, "Moved \"pay rent\" to Fri 3 Apr 10:30.");
    assert_eq!(f.all(alice()).await[0].due_date, Some(due));
}

#[tokio::test]
async fn a_list_finds_what_is_due_this_week_and_remembers_a_single_result() {
    let f = fixture().await;
    f.say(alice(), "pay rent tomorrow 9am").await;
    f.say(alice(), "file taxes on 2026-04-20").await;
    f.say(alice(), "buy milk").await;
    let reply = f.say(alice(), "what is due this week").await;
    assert_eq!(titles(&reply.tasks), ["pay rent"]);
    assert_eq!(reply.reply, "1 task: \"pay rent\", due Sun 29 Mar 09:00.");
    let done = f.say(alice(), "done with it").await;
    assert_eq!(titles(&done.tasks), ["pay rent"]);
    assert_eq!(done.tasks[0].status, Status::Completed);

    let none = f.say(alice(), "show high priority work tasks").await;
    assert_eq!(none.reply, "Nothing matches.");
}

#[tokio::test]
async fn help_and_an_overlong_message() {
    let f = fixture().await;
    assert_eq!(f.say(alice(), "help").await.reply, HELP);
    let long = "a".repeat(MAX_MESSAGE_CHARS + 1);
    let error = f.chat.reply(alice(), &long).await.unwrap_err();
    assert!(
        matches!(&error, TaskError::Invalid(v) if v.field == "message"),
        "{error:?}"
    );
    assert!(f.all(alice()).await.is_empty(), "nothing was created");
}
