//! The MCP server (SPEC §12): the task operations as Model Context Protocol tools, on the official
//! Rust SDK (`rmcp`).
//!
//! ```text
//!   POST /mcp (Streamable HTTP) ─▶ bearer check ─┐
//!                                              ├─▶ TaskTools (tools/list, tools/call) ─▶ TaskService
//!   stdin/stdout (--stdio, TODO_TOKEN) ──────────┘
//! ```
//!
//! Each tool is a thin call of a use case ([`todo_core::usecases::TaskService`]): its arguments are
//! the REST API's input types, its result the REST API's JSON plus a one-line summary, and a broken
//! rule is a tool error carrying the API's message. A caller acts only for the user of its token,
//! exactly as over REST.
//!
//! - `tools`: the catalogue and the translation of each tool;
//! - `http`: `/mcp`, stateless Streamable HTTP behind the bearer check, and `POST /chat`, the
//!   method the API invokes through Dapr to answer `POST /api/v1/chat`;
//! - `stdio`: one local client on stdin/stdout.

mod http;
mod stdio;
mod tools;

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use todo_core::model::UserId;
use todo_core::ports::Clock;
use todo_core::usecases::{ChatService, TaskService};
use tracing::Instrument;

pub use stdio::serve_stdio;

use crate::auth::{Accounts, AuthError};
use tools::ToolFailure;

/// What the mcp role builds: the tools over the task use cases, and the accounts that turn a bearer
/// token into the user the tools act for.
#[derive(Clone)]
pub struct McpServer {
    tasks: TaskService,
    clock: Arc<dyn Clock>,
    accounts: Accounts,
    chat: ChatService,
    catalogue: Arc<[Tool]>,
}

impl McpServer {
    /// Tools over `tasks`, reading the time from `clock`, for the users `accounts` signs in; `chat`
    /// answers the API's invocations of [`CHAT_METHOD`](crate::chat::CHAT_METHOD).
    pub fn new(
        tasks: TaskService,
        clock: Arc<dyn Clock>,
        accounts: Accounts,
        chat: ChatService,
    ) -> Self {
        Self {
            tasks,
            clock,
            accounts,
            chat,
            catalogue: tools::catalogue().into(),
        }
    }

    /// `/mcp`: Streamable HTTP (stateless, JSON answers), refused with 401 without a valid bearer
    /// token. Request bodies are limited to `body_limit` bytes; `shutdown` ends what is in flight.
    pub fn routes(
        &self,
        body_limit: usize,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> axum::Router {
        http::routes(self, body_limit, shutdown)
    }

    /// The tools acting for the user of `token`, for a client that cannot send a header (stdio).
    ///
    /// # Errors
    ///
    /// [`AuthError::BadToken`] for a token this server did not sign or that has expired.
    pub fn for_token(&self, token: &str) -> Result<TaskTools, AuthError> {
        let user = self.accounts.verify(token.trim())?;
        Ok(TaskTools {
            server: self.clone(),
            caller: Caller::Fixed(user),
        })
    }
}

/// The MCP handler: lists the tools and calls them for the caller.
#[derive(Clone)]
pub struct TaskTools {
    server: McpServer,
    caller: Caller,
}

/// Whom a [`TaskTools`] acts for.
#[derive(Clone, Copy)]
enum Caller {
    /// The user `/mcp`'s bearer check put in each HTTP request ([`Authenticated`]).
    Bearer,
    /// The one user of a stdio session.
    Fixed(UserId),
}

/// The user an HTTP request to `/mcp` was authenticated as (a request extension).
#[derive(Debug, Clone, Copy)]
struct Authenticated(UserId);

impl TaskTools {
    fn user(&self, context: &RequestContext<RoleServer>) -> Result<UserId, ErrorData> {
        match self.caller {
            Caller::Fixed(user) => Ok(user),
            Caller::Bearer => context
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Authenticated>())
                .map(|Authenticated(user)| *user)
                // The bearer check runs before every request reaches the handler.
                .ok_or_else(|| {
                    ErrorData::internal_error("the request was not authenticated", None)
                }),
        }
    }
}

const INSTRUCTIONS: &str = "Your tasks in the todo app. Each tool mirrors the REST API \
(/api/v1/tasks): add_task takes the body of POST /api/v1/tasks, list_tasks its query parameters, \
update_task an id plus the PATCH fields. Results are the API's task JSON. quick_add reads one line \
of plain words.";

impl ServerHandler for TaskTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("todo", env!("CARGO_PKG_VERSION")).with_title("todo tasks"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.server.catalogue.to_vec(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let user = self.user(&context)?;
        let timezone = match self.server.accounts.settings(user).await {
            Ok(settings) => settings.timezone.tz(),
            Err(error) => {
                return Err(ErrorData::internal_error(
                    format!("reading your settings failed: {error}"),
                    None,
                ))
            }
        };
        let name = request.name.as_ref();
        let span = tracing::info_span!("mcp_tool", tool = name, user_id = %user);
        let started = Instant::now();
        let outcome = tools::call(
            &self.server.tasks,
            &self.server.clock,
            (user, timezone),
            name,
            request.arguments.unwrap_or_default(),
        )
        .instrument(span)
        .await;
        let (result, label) = match outcome {
            Ok(answer) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(answer.summary)]);
                result.structured_content = Some(answer.structured);
                (result, "ok")
            }
            Err(ToolFailure::Rejected(error)) => {
                let mut result =
                    CallToolResult::error(vec![ContentBlock::text(error.message().to_owned())]);
                result.structured_content = Some(error.body());
                (result, "error")
            }
            Err(ToolFailure::Unknown(name)) => {
                return Err(ErrorData::invalid_params(
                    format!("no tool named `{name}`"),
                    None,
                ))
            }
        };
        metrics::histogram!(
            "todo_mcp_tool_call_duration_seconds",
            "tool" => name.to_owned(),
            "outcome" => label,
        )
        .record(started.elapsed().as_secs_f64());
        Ok(result.into())
    }
}
