//! What the OpenAPI document says beyond what the derives can: the domain's input rules as JSON
//! Schema (lengths, patterns, formats), so that a schema-valid request is accepted;
//! the answers every operation shares (401 with `WWW-Authenticate`, 400 and 413 for a body, 503 with
//! `Retry-After`); response headers; and the links that chain operations (create a task, then read,
//! change, complete, reopen, delete it or read its history by its `id`; sign up, then log in).
//!
//! The numbers come from the domain's constants, so a rule changed there changes the document.

use serde_json::{json, Map, Value};
use todo_core::model::{
    RemindBefore, DESCRIPTION_MAX_CHARS, TAGS_MAX, TAG_MAX_CHARS, TITLE_MAX_CHARS,
};
use todo_core::query::MAX_LIMIT;

/// Characters no single-line text field takes (Unicode category Cc, what `char::is_control` tests).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

/// Longest display name.
const NAME_MAX_CHARS: usize = 100;
/// Password length bounds, in characters.
const PASSWORD_CHARS: (usize, usize) = (8, 128);
/// Longest e-mail address (bytes; the pattern admits ASCII only, so characters).
const EMAIL_MAX: usize = 254;
/// Longest chat message.
const CHAT_MAX_CHARS: usize = 500;
/// Longest push endpoint.
const PUSH_ENDPOINT_MAX: usize = 2048;

/// Applies every refinement to `doc`, the document utoipa derived.
pub(super) fn refine(doc: &mut Value) {
    input_rules(doc);
    parameters(doc);
    shared_answers(doc);
    headers(doc);
    links(doc);
}

fn schemas(doc: &mut Value) -> &mut Map<String, Value> {
    doc.pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .expect("the document has component schemas")
}

/// Merges `extra` into the schema at `pointer` (under `/components/schemas`).
fn merge(doc: &mut Value, pointer: &str, extra: &Value) {
    let schema = schemas(doc);
    let mut target = None;
    let mut parts = pointer.split('/').filter(|p| !p.is_empty());
    if let Some(first) = parts.next() {
        target = schema.get_mut(first);
        for part in parts {
            target = target.and_then(|t| t.get_mut(part));
        }
    }
    let target = target
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no schema at {pointer}"));
    if let Some(extra) = extra.as_object() {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// A single line with at least one character that is not white space.
fn single_line() -> String {
    format!(r"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*$")
}

/// One tag as a task takes it: no comma, no control character, not blank.
fn tag() -> Value {
    json!({
        "type": "string",
        "maxLength": TAG_MAX_CHARS,
        "pattern": format!(r"^[^,{CONTROL}]*[^,\s{CONTROL}][^,{CONTROL}]*$"),
        "description": "Trimmed and lower-cased; no commas or control characters.",
        "example": "home",
    })
}

fn nullable(reference: &str) -> Value {
    json!({"oneOf": [{"type": "null"}, {"$ref": format!("#/components/schemas/{reference}")}]})
}

/// The rules of the request bodies, from the types that parse them.
fn input_rules(doc: &mut Value) {
    // A name, not an enum of the ~600 names: the list follows the tz database of the build, and
    // generators turn it into colliding identifiers (openapi-python-client: `GMT0`, `GMT+0`, `GMT-0`).
    schemas(doc).insert(
        "TimeZone".into(),
        json!({
            "type": "string",
            "pattern": "^[A-Za-z][A-Za-z0-9_+/-]*$",
            "maxLength": 64,
            "description": "An IANA time zone name as in the tz database, e.g. `Europe/London`; another name is refused with 422 (400 in a query).",
            "examples": ["Europe/London", "America/New_York", "UTC"],
        }),
    );
    let description = json!({
        "maxLength": DESCRIPTION_MAX_CHARS,
        "pattern": format!(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"),
    });
    for input in ["TaskInput", "TaskPatchInput"] {
        merge(
            doc,
            &format!("{input}/properties/title"),
            &json!({"maxLength": TITLE_MAX_CHARS, "pattern": single_line()}),
        );
        merge(
            doc,
            &format!("{input}/properties/description"),
            &description,
        );
        merge(
            doc,
            &format!("{input}/properties/tags"),
            &json!({"items": tag(), "maxItems": TAGS_MAX}),
        );
        merge(
            doc,
            &format!("{input}/properties/remind_before"),
            &json!({"minimum": 0, "maximum": RemindBefore::MAX_MINUTES}),
        );
        schemas(doc)[input]["properties"]["timezone"] = nullable("TimeZone");
    }
    schemas(doc)["SettingsPatchInput"]["properties"]["timezone"] = nullable("TimeZone");
    // The rule text's grammar (RFC 5545 §3.3.10) is beyond JSON Schema; an empty rule is not one.
    // Titles name the two shapes in generated clients (`RecurrencePreset`, `RecurrenceRule`).
    if let Some(preset) = schemas(doc)["Recurrence"]["oneOf"].get_mut(0) {
        preset["title"] = json!("RecurrencePreset");
    }
    if let Some(rule) = schemas(doc)["Recurrence"]["oneOf"].get_mut(1) {
        rule["title"] = json!("RecurrenceRule");
        rule["properties"]["rrule"]["minLength"] = json!(1);
    }
    merge(
        doc,
        "SignupRequest/properties/email",
        &json!({
            "maxLength": EMAIL_MAX,
            // Printable ASCII: a local part, `@`, a domain with a dot, not at either end.
            "pattern": r"^[\x21-\x3f\x41-\x7e]+@[\x21-\x2d\x2f-\x7e][\x21-\x7e]*\.[\x21-\x7e]*[\x21-\x2d\x2f-\x7e]$",
            "example": "ada@example.com",
        }),
    );
    merge(
        doc,
        "SignupRequest/properties/password",
        &json!({"minLength": PASSWORD_CHARS.0, "maxLength": PASSWORD_CHARS.1}),
    );
    merge(
        doc,
        "SignupRequest/properties/name",
        &json!({"maxLength": NAME_MAX_CHARS}),
    );
    merge(
        doc,
        "ChatRequest/properties/message",
        &json!({"maxLength": CHAT_MAX_CHARS}),
    );
    // What `PushSubscription::parse` accepts, as far as a pattern can say: an https URL on a named
    // host (not localhost, not an address literal), a 65-byte key starting with 0x04, a 16-byte secret.
    merge(
        doc,
        "PushSubscriptionInput/properties/endpoint",
        &json!({
            "maxLength": PUSH_ENDPOINT_MAX,
            "pattern": r"^https://(?!localhost[./:]|localhost$)[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20})*\.[a-z]{2,10}(/[A-Za-z0-9._~:-]{0,40}){0,8}$",
        }),
    );
    merge(
        doc,
        "PushKeysInput/properties/p256dh",
        &json!({"pattern": "^B[A-P][A-Za-z0-9_-]{84}[AEIMQUYcgkosw048]$"}),
    );
    merge(
        doc,
        "PushKeysInput/properties/auth",
        &json!({"pattern": "^[A-Za-z0-9_-]{21}[AQgw]$"}),
    );
    for input in ["PushSubscriptionInput", "PushKeysInput"] {
        schemas(doc)[input]["additionalProperties"] = json!(true);
    }
}

/// Query and path parameters: their enums, bounds and formats.
fn parameters(doc: &mut Value) {
    let priority = "(?:high|medium|low)";
    let tag_list =
        format!(r"^[^,{CONTROL}]{{0,{TAG_MAX_CHARS}}}(?:,[^,{CONTROL}]{{0,{TAG_MAX_CHARS}}})*$");
    let rules: &[(&str, &str, &str, Value)] = &[
        (
            "/api/v1/tasks",
            "get",
            "status",
            json!({"type": "string", "enum": ["pending", "completed", "all"]}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "priority",
            json!({"type": "string", "pattern": format!("^{priority}(?:,{priority})*$")}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "tags",
            json!({"type": "string", "pattern": tag_list}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "tags_all",
            json!({"type": "string", "pattern": tag_list}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "due_from",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "due_to",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "sort",
            json!({"type": "string", "enum": ["due_date", "priority", "created_at", "title"]}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "order",
            json!({"type": "string", "enum": ["asc", "desc"]}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
        ),
        (
            "/api/v1/tasks",
            "get",
            "cursor",
            json!({"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}),
        ),
        (
            "/api/v1/notifications",
            "get",
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
        ),
        (
            "/api/v1/recurrence/preview",
            "get",
            "rrule",
            json!({"type": "string", "minLength": 1}),
        ),
        (
            "/api/v1/recurrence/preview",
            "get",
            "due",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "/api/v1/recurrence/preview",
            "get",
            "timezone",
            json!({"$ref": "#/components/schemas/TimeZone"}),
        ),
    ];
    for (path, method, name, schema) in rules {
        let parameter = doc
            .pointer_mut(&format!(
                "/paths/{}/{method}/parameters",
                path.replace('/', "~1")
            ))
            .and_then(Value::as_array_mut)
            .and_then(|ps| ps.iter_mut().find(|p| p["name"] == *name))
            .unwrap_or_else(|| panic!("no parameter {name} of {method} {path}"));
        parameter["schema"] = schema.clone();
    }
    for (path, operations) in doc["paths"].as_object_mut().expect("paths").iter_mut() {
        for operation in operations.as_object_mut().expect("operations").values_mut() {
            let parameters = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut);
            for parameter in parameters.into_iter().flatten() {
                if parameter["in"] == "path" && parameter["name"] == "id" {
                    if path.starts_with("/api/v1/tasks/") {
                        parameter["schema"] =
                            json!({"type": "integer", "format": "int64", "minimum": 1});
                    } else {
                        parameter["schema"] = json!({"type": "string", "format": "uuid"});
                    }
                }
            }
        }
    }
}

fn error_answer(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}

/// The answers every operation of a kind gives, added where its annotation left them out.
fn shared_answers(doc: &mut Value) {
    for operations in doc["paths"].as_object_mut().expect("paths").values_mut() {
        for operation in operations.as_object_mut().expect("operations").values_mut() {
            let has_body = operation.get("requestBody").is_some();
            let secured = operation.get("security").is_some();
            let responses = operation["responses"].as_object_mut().expect("responses");
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| error_answer(description));
            };
            if secured {
                add("401", "No valid bearer token");
            }
            if has_body {
                add("400", "Malformed JSON, a body that is not an object, a wrong type, an unknown field, or no `Content-Type: application/json`; nothing changed");
                add("413", "The body is larger than the server's limit (`TODO_BODY_LIMIT`); nothing changed");
            }
            add("503", "A backing service (the store or, with Dapr, the sidecar) is unavailable; nothing changed. Retry after `Retry-After` seconds");
        }
    }
}

fn header(description: &str, schema: Value) -> Value {
    json!({"description": description, "required": true, "schema": schema})
}

/// Response headers: `Retry-After` on 429 and 503, `WWW-Authenticate` on 401, the feed's caching.
fn headers(doc: &mut Value) {
    let seconds = json!({"type": "string", "pattern": "^[0-9]+$"});
    for operations in doc["paths"].as_object_mut().expect("paths").values_mut() {
        for operation in operations.as_object_mut().expect("operations").values_mut() {
            for (status, response) in operation["responses"]
                .as_object_mut()
                .expect("responses")
                .iter_mut()
            {
                let added = match status.as_str() {
                    "429" | "503" => Some((
                        "Retry-After",
                        header("Seconds to wait before trying again", seconds.clone()),
                    )),
                    "401" => Some((
                        "WWW-Authenticate",
                        header(
                            "The scheme to authenticate with",
                            json!({"type": "string", "const": "Bearer"}),
                        ),
                    )),
                    _ => None,
                };
                if let Some((name, value)) = added {
                    response["headers"][name] = value;
                }
            }
        }
    }
    for status in ["200", "304"] {
        let response = &mut doc["paths"]["/ical/{secret}.ics"]["get"]["responses"][status];
        response["headers"]["ETag"] = header(
            "The feed's entity tag; send it back as `If-None-Match`",
            json!({"type": "string", "pattern": "^\"[^\"]*\"$"}),
        );
        response["headers"]["Cache-Control"] =
            header("How long the feed may be reused", json!({"type": "string"}));
    }
}

fn link(operation_id: &str, description: &str, parameters: Value, body: Option<Value>) -> Value {
    let mut link = json!({
        "operationId": operation_id,
        "description": description,
    });
    if parameters.as_object().is_some_and(|p| !p.is_empty()) {
        link["parameters"] = parameters;
    }
    if let Some(body) = body {
        link["requestBody"] = body;
    }
    link
}

/// The links of the stateful sequences.
fn links(doc: &mut Value) {
    let by_id = |expression: &str| -> Value {
        let id = json!({"id": expression});
        json!({
            "GetTask": link("get_task", "The task", id.clone(), None),
            "UpdateTask": link("update_task", "Change the task", id.clone(), None),
            "CompleteTask": link("complete_task", "Complete the task", id.clone(), None),
            "ReopenTask": link("reopen_task", "Reopen the task", id.clone(), None),
            "TaskHistory": link("task_history", "The task's history", id.clone(), None),
            "DeleteTask": link("delete_task", "Delete the task", id, None),
        })
    };
    let paths = &mut doc["paths"];
    paths["/api/v1/tasks"]["post"]["responses"]["201"]["links"] = by_id("$response.body#/id");
    paths["/api/v1/tasks/{id}"]["patch"]["responses"]["200"]["links"] = by_id("$response.body#/id");
    paths["/api/v1/tasks/{id}/complete"]["post"]["responses"]["200"]["links"] =
        by_id("$response.body#/task/id");
    paths["/api/v1/auth/signup"]["post"]["responses"]["201"]["links"] = json!({
        "Login": link(
            "login",
            "Log in as the account just created; both answers carry a `token` to send as `Authorization: Bearer <token>`",
            json!({}),
            Some(json!({"email": "$request.body#/email", "password": "$request.body#/password"})),
        ),
    });
    paths["/api/v1/notifications"]["get"]["responses"]["200"]["links"] = json!({
        "MarkRead": link("mark_read", "Mark the newest reminder read", json!({"id": "$response.body#/items/0/id"}), None),
    });
    paths["/api/v1/push/subscriptions"]["post"]["responses"]["201"]["links"] = json!({
        "Unsubscribe": link("unsubscribe", "Unregister this browser", json!({"id": "$response.body#/id"}), None),
    });
}
