//! The server the official MCP conformance suite (`@modelcontextprotocol/conformance`) tests:
//! the tools, resources and prompts its server scenarios call, with every tool declared through
//! mcp-secure's macros (`public`, rate-limited, validated input) and served behind mcp-secure's
//! HTTP layer (loopback `Host`s only, `Origin` checked, body limit, security headers).

// Logging and sampling are deprecated by SEP-2577, but the 2025-11-25 scenarios still test them.
#![allow(deprecated)]

mod rounds;

use std::{collections::HashSet, sync::Arc};

use mcp_secure::{http::Endpoint, prelude::*, tool::InputRound};
use rmcp::{
    ErrorData, RoleServer,
    model::{
        AudioContent, CallToolResponse, CallToolResult, ClientCapabilities, CompleteRequestParams,
        CompleteResult, CompletionInfo, ContentBlock, CreateMessageRequestParams,
        ElicitRequestParams, ElicitationSchema, GetPromptRequestParams, GetPromptResponse,
        GetPromptResult, ImageContent, Implementation, ListPromptsResult,
        ListResourceTemplatesResult, ListResourcesResult, LoggingLevel,
        LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam, Prompt,
        PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
        ReadResourceResult, Reference, Resource, ResourceContents, ResourceTemplate, Role,
        SamplingMessage, ServerCapabilities, ServerConfig, SetLevelRequestParams,
        SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
    },
    service::{RequestContext, SubscriptionContext},
};
use serde_json::json;
use tokio::sync::{Mutex, broadcast};

/// A 1×1 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// An empty WAV file.
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";

/// A list that changed, for the `subscriptions/listen` streams.
#[derive(Clone, Copy, Debug)]
enum Change {
    Tools,
    Prompts,
}

/// The conformance server; one value per session, sharing the subscriptions and the
/// `subscriptions/listen` streams.
#[derive(Clone)]
pub struct ConformanceServer {
    subscriptions: Arc<Mutex<HashSet<String>>>,
    changes: broadcast::Sender<Change>,
    tools: Tools<Self>,
}

impl Default for ConformanceServer {
    fn default() -> Self {
        Self {
            subscriptions: Arc::default(),
            changes: broadcast::channel(16).0,
            tools: Self::tools(),
        }
    }
}

/// The nested object of `json_schema_2020_12_tool`. The suite looks for it under
/// `$defs.address`, and a schema's `$defs` key is its type's name, hence the lower case.
#[allow(non_camel_case_types)]
#[derive(SecureInput)]
pub struct address {
    /// The street.
    #[mcp(length(max = 200))]
    pub street: Option<String>,
    /// The city.
    #[mcp(length(max = 100))]
    pub city: Option<String>,
}

/// The input of `json_schema_2020_12_tool`.
#[derive(SecureInput)]
pub struct Person {
    /// Whom to greet.
    #[mcp(length(max = 100))]
    pub name: Option<String>,
    /// Where they live.
    pub address: Option<address>,
}

fn elicitation_schema(schema: serde_json::Value) -> Result<ElicitationSchema, ToolError> {
    serde_json::from_value(schema).map_err(ToolError::internal)
}

async fn elicit(
    cx: &RequestContext<RoleServer>,
    message: &str,
    schema: serde_json::Value,
) -> Result<String, ToolError> {
    let result = cx
        .peer
        .create_elicitation(ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.into(),
            requested_schema: elicitation_schema(schema)?,
        })
        .await
        .map_err(|_| {
            ToolError::new(
                "unavailable",
                "the client did not answer the elicitation request",
            )
        })?;
    Ok(format!(
        "action={}, content={}",
        serde_json::to_value(&result.action).unwrap_or_default(),
        result.content.unwrap_or_default()
    ))
}

#[mcp_tools(default_rate = "100/s")]
impl ConformanceServer {
    /// Returns simple text content.
    #[mcp_tool(public)]
    async fn test_simple_text(&self) -> String {
        "This is a simple text response for testing.".into()
    }

    /// Returns image content.
    #[mcp_tool(public)]
    async fn test_image_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::image(PNG, "image/png")])
    }

    /// Returns audio content.
    #[mcp_tool(public)]
    async fn test_audio_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::Audio(AudioContent::new(
            WAV,
            "audio/wav",
        ))])
    }

    /// Returns an embedded resource.
    #[mcp_tool(public)]
    async fn test_embedded_resource(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::resource(ResourceContents::text(
            "This is an embedded resource content.",
            "test://embedded-resource",
        ))])
    }

    /// Returns text, an image and a resource.
    #[mcp_tool(public)]
    async fn test_multiple_content_types(&self) -> CallToolResult {
        CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG, "image/png"),
            ContentBlock::resource(
                ResourceContents::text(
                    r#"{"test":"data","value":123}"#,
                    "test://mixed-content-resource",
                )
                .with_mime_type("application/json"),
            ),
        ])
    }

    /// Sends three log messages while it runs.
    #[mcp_tool(public)]
    async fn test_tool_with_logging(&self, cx: RequestContext<RoleServer>) -> String {
        for message in [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ] {
            let _ = cx
                .peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message))
                        .with_logger("conformance-server"),
                )
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        "Logging test completed".into()
    }

    /// Always fails, as a tool error.
    #[mcp_tool(public)]
    async fn test_error_handling(&self) -> Result<String, ToolError> {
        Err(ToolError::new(
            "test_error",
            "This tool intentionally returns an error for testing",
        ))
    }

    /// Reports progress at 0, 50 and 100 %.
    #[mcp_tool(public)]
    async fn test_tool_with_progress(&self, cx: RequestContext<RoleServer>) -> String {
        let token = cx.meta.get_progress_token();
        for (progress, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")] {
            if let Some(token) = &token {
                let _ = cx
                    .peer
                    .notify_progress(
                        ProgressNotificationParam::new(token.clone(), progress)
                            .with_total(100.0)
                            .with_message(message),
                    )
                    .await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        "Progress test completed".into()
    }

    /// Asks the client's model to answer `prompt`.
    #[mcp_tool(public)]
    async fn test_sampling(
        &self,
        /// The prompt to send.
        #[mcp(length(min = 1, max = 10_000))]
        prompt: String,
        cx: RequestContext<RoleServer>,
    ) -> Result<String, ToolError> {
        let result = cx
            .peer
            .create_message(CreateMessageRequestParams::new(
                vec![SamplingMessage::user_text(prompt)],
                100,
            ))
            .await
            .map_err(|_| {
                ToolError::new(
                    "unavailable",
                    "the client did not answer the sampling request",
                )
            })?;
        let text = result
            .message
            .content
            .first()
            .and_then(|c| c.as_text())
            .map(|t| t.text.clone())
            .unwrap_or_default();
        Ok(format!("LLM response: {text}"))
    }

    /// Asks the user for a username and an email.
    #[mcp_tool(public)]
    async fn test_elicitation(
        &self,
        /// The message to show.
        #[mcp(length(min = 1, max = 1000))]
        message: String,
        cx: RequestContext<RoleServer>,
    ) -> Result<String, ToolError> {
        let answer = elicit(
            &cx,
            &message,
            json!({
                "type": "object",
                "properties": {
                    "username": {"type": "string", "description": "User's response"},
                    "email": {"type": "string", "description": "User's email address"}
                },
                "required": ["username", "email"]
            }),
        )
        .await?;
        Ok(format!("User response: {answer}"))
    }

    /// Elicitation whose fields all have defaults (SEP-1034).
    #[mcp_tool(public)]
    async fn test_elicitation_sep1034_defaults(
        &self,
        cx: RequestContext<RoleServer>,
    ) -> Result<String, ToolError> {
        let answer = elicit(
            &cx,
            "Please provide values (all have defaults)",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "User's name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User's age", "default": 30},
                    "score": {"type": "number", "description": "User's score", "default": 95.5},
                    "status": {"type": "string", "description": "User's status",
                        "enum": ["active", "inactive", "pending"], "default": "active"},
                    "verified": {"type": "boolean", "description": "Whether user is verified", "default": true}
                }
            }),
        )
        .await?;
        Ok(format!("Elicitation completed: {answer}"))
    }

    /// Elicitation with the enum forms of SEP-1330.
    #[mcp_tool(public)]
    async fn test_elicitation_sep1330_enums(
        &self,
        cx: RequestContext<RoleServer>,
    ) -> Result<String, ToolError> {
        let answer = elicit(
            &cx,
            "Test enum schema improvements",
            json!({
                "type": "object",
                "properties": {
                    "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                    "titledSingle": {"type": "string", "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"}
                    ]},
                    "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"]},
                    "untitledMulti": {"type": "array",
                        "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                    "titledMulti": {"type": "array", "items": {"anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"}
                    ]}}
                }
            }),
        )
        .await?;
        Ok(format!("Enum elicitation completed: {answer}"))
    }

    /// A tool whose input schema uses JSON Schema 2020-12 (`$schema`, `$defs`, `$ref`).
    #[mcp_tool(public)]
    async fn json_schema_2020_12_tool(&self, input: Person) -> String {
        format!("Hello, {}!", input.name.as_deref().unwrap_or("world"))
    }

    /// Needs the client's sampling capability: refused with `-32021` when it was not declared.
    #[mcp_tool(public)]
    async fn test_missing_capability(
        &self,
        cx: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        let declared = cx.client_capabilities();
        if declared
            .as_ref()
            .and_then(|c| c.sampling.as_ref())
            .is_none()
        {
            return Err(ErrorData::missing_required_client_capability(
                ClientCapabilities::builder().enable_sampling().build(),
            ));
        }
        Ok("The client declared sampling.".into())
    }

    /// Asks for a name through its result (2026-07-28 has no server requests on a stream).
    #[mcp_tool(public)]
    async fn test_streaming_elicitation(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::elicitation(round).await
    }

    /// Logs three messages, only when the request asked for logs (`_meta` `logLevel`), and
    /// only at that level or above.
    #[mcp_tool(public)]
    async fn test_logging_tool(&self, cx: RequestContext<RoleServer>) -> String {
        if let Some(wanted) = cx.meta.log_level() {
            for (level, message) in [
                (LoggingLevel::Debug, "debug detail"),
                (LoggingLevel::Info, "Tool processing data"),
                (LoggingLevel::Warning, "a warning"),
            ] {
                if severity(level) >= severity(wanted) {
                    let _ = cx
                        .peer
                        .notify_logging_message(
                            LoggingMessageNotificationParam::new(level, json!(message))
                                .with_logger("conformance-server"),
                        )
                        .await;
                }
            }
        }
        "Logging test completed".into()
    }

    /// Tells every `subscriptions/listen` stream that the tool list changed.
    #[mcp_tool(public)]
    async fn test_trigger_tool_change(&self) -> String {
        let _ = self.changes.send(Change::Tools);
        "tools/list_changed sent".into()
    }

    /// Tells every `subscriptions/listen` stream that the prompt list changed.
    #[mcp_tool(public)]
    async fn test_trigger_prompt_change(&self) -> String {
        let _ = self.changes.send(Change::Prompts);
        "prompts/list_changed sent".into()
    }

    /// Asks for a name (elicitation), then greets.
    #[mcp_tool(public)]
    async fn test_input_required_result_elicitation(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::elicitation(round).await
    }

    /// Asks the client's model a question (sampling).
    #[mcp_tool(public)]
    async fn test_input_required_result_sampling(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::sampling(round).await
    }

    /// Asks for the client's roots.
    #[mcp_tool(public)]
    async fn test_input_required_result_list_roots(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::roots(round).await
    }

    /// Asks for a confirmation, with a sealed state.
    #[mcp_tool(public)]
    async fn test_input_required_result_request_state(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::confirm(round).await
    }

    /// Asks for a confirmation, with a sealed state that a tampered retry cannot pass.
    #[mcp_tool(public)]
    async fn test_input_required_result_tampered_state(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::confirm(round).await
    }

    /// Asks for a name, a sampled greeting and the roots at once.
    #[mcp_tool(public)]
    async fn test_input_required_result_multiple_inputs(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::multiple(round).await
    }

    /// Asks for a name, then a colour.
    #[mcp_tool(public)]
    async fn test_input_required_result_multi_round(
        &self,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::multi_round(round).await
    }

    /// Asks only for what the client declared it can answer.
    #[mcp_tool(public)]
    async fn test_input_required_result_capabilities(
        &self,
        round: InputRound,
        cx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ToolError> {
        rounds::by_capability(round, cx.client_capabilities()).await
    }

    /// Answers after a short pause (the SSE polling scenario).
    #[mcp_tool(public)]
    async fn test_reconnection(&self) -> String {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        "Reconnection test completed".into()
    }
}

/// RFC 5424's order of the levels, least severe first.
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// `test_input_required_result_prompt`: asks what context to use, then returns the prompt.
fn prompt_with_input(answers: Option<&rmcp::model::InputResponses>) -> GetPromptResponse {
    let context = answers
        .and_then(|a| a.get("user_context"))
        .and_then(|a| a.get("content")?.get("context")?.as_str())
        .map(|c| c.chars().take(1000).collect::<String>());
    match context {
        Some(context) => GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!("Use this context: {context}"),
        )])
        .into(),
        None => {
            let question = serde_json::from_value(json!({
                "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": "What context should the prompt use?",
                    "requestedSchema": {
                        "type": "object",
                        "properties": { "context": { "type": "string" } },
                        "required": ["context"]
                    }
                }
            }))
            .expect("a well-formed elicitation request");
            rmcp::model::InputRequiredResult::from_input_requests(
                [("user_context".to_owned(), question)].into(),
            )
            .into()
        }
    }
}

fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found("no such resource", Some(json!({ "uri": uri })))
}

#[tool_handler(router = self.tools)]
impl ServerHandler for ConformanceServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_logging()
                .enable_completions()
                .build(),
        )
        .with_server_info(Implementation::new(
            "mcp-secure-conformance-server",
            env!("CARGO_PKG_VERSION"),
        ))
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new("test://static-text", "Static Text Resource")
                .with_description("A static text resource")
                .with_mime_type("text/plain"),
            Resource::new("test://static-binary", "Static Binary Resource")
                .with_description("A static binary resource")
                .with_mime_type("image/png"),
            Resource::new("test://watched-resource", "Watched Resource")
                .with_description("A resource clients can subscribe to")
                .with_mime_type("text/plain"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let contents = match uri {
            "test://static-text" => {
                ResourceContents::text("This is the content of the static text resource.", uri)
            }
            "test://watched-resource" => ResourceContents::text("Watched resource content.", uri),
            "test://static-binary" => ResourceContents::blob(PNG, uri).with_mime_type("image/png"),
            _ => {
                let id = uri
                    .strip_prefix("test://template/")
                    .and_then(|rest| rest.strip_suffix("/data"))
                    .filter(|id| {
                        !id.is_empty()
                            && id.len() <= 64
                            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
                    .ok_or_else(|| not_found(uri))?;
                ResourceContents::text(
                    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                        .to_string(),
                    uri,
                )
                .with_mime_type("application/json")
            }
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("test://template/{id}/data", "Dynamic Resource")
                .with_description("A resource with an `id` parameter")
                .with_mime_type("application/json"),
        ]))
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // rmcp narrows this to what was both requested and advertised.
        Some(requested.clone())
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), ErrorData> {
        let mut changes = self.changes.subscribe();
        loop {
            let change = tokio::select! {
                () = subscription.cancelled() => return Ok(()),
                change = changes.recv() => change,
            };
            let sink = subscription.sink();
            // A category the client did not ask for is refused by the sink, not sent.
            let _ = match change {
                Ok(Change::Tools) => sink.notify_tool_list_changed().await,
                Ok(Change::Prompts) => sink.notify_prompt_list_changed().await,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
        }
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let mut subscriptions = self.subscriptions.lock().await;
        if subscriptions.len() >= 1000 {
            return Err(ErrorData::invalid_params("too many subscriptions", None));
        }
        subscriptions.insert(request.uri.to_string());
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.lock().await.remove(request.uri.as_str());
        Ok(())
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![
            Prompt::new(
                "test_simple_prompt",
                Some("A prompt without arguments"),
                None,
            ),
            Prompt::new(
                "test_prompt_with_arguments",
                Some("A prompt with two arguments"),
                Some(vec![
                    PromptArgument::new("arg1")
                        .with_description("First argument")
                        .with_required(true),
                    PromptArgument::new("arg2")
                        .with_description("Second argument")
                        .with_required(false),
                ]),
            ),
            Prompt::new(
                "test_prompt_with_embedded_resource",
                Some("A prompt with an embedded resource"),
                Some(vec![
                    PromptArgument::new("resourceUri")
                        .with_description("The resource to embed")
                        .with_required(false),
                ]),
            ),
            Prompt::new(
                "test_prompt_with_image",
                Some("A prompt with an image"),
                None,
            ),
            Prompt::new(
                "test_input_required_result_prompt",
                Some("A prompt that first asks the client for its context"),
                None,
            ),
        ]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name == "test_input_required_result_prompt" {
            return Ok(prompt_with_input(request.input_responses.as_ref()));
        }
        let args = request.arguments.unwrap_or_default();
        // Prompt arguments are text from the client: bounded before use.
        let arg = |name: &str| -> Result<String, ErrorData> {
            let value = args.get(name).and_then(|v| v.as_str()).unwrap_or("");
            if value.chars().count() > 1000 {
                return Err(ErrorData::invalid_params(
                    format!("`{name}` is longer than 1000 characters"),
                    None,
                ));
            }
            Ok(value.to_owned())
        };
        let messages = match request.name.as_str() {
            "test_simple_prompt" => vec![PromptMessage::new_text(
                Role::User,
                "This is a simple test prompt.",
            )],
            "test_prompt_with_arguments" => vec![PromptMessage::new_text(
                Role::User,
                format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    arg("arg1")?,
                    arg("arg2")?
                ),
            )],
            "test_prompt_with_embedded_resource" => vec![
                PromptMessage::new_text(Role::User, "Here is a resource:"),
                PromptMessage::new_resource(
                    Role::User,
                    "test://static-text".into(),
                    Some("text/plain".into()),
                    Some("This is the content of the static text resource.".into()),
                    None,
                    None,
                    None,
                ),
            ],
            "test_prompt_with_image" => vec![
                PromptMessage::new_text(Role::User, "Here is an image:"),
                PromptMessage::new(
                    Role::User,
                    ContentBlock::Image(ImageContent::new(PNG, "image/png")),
                ),
            ],
            _ => return Err(ErrorData::invalid_params("no such prompt", None)),
        };
        Ok(GetPromptResult::new(messages).into())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let values: Vec<String> = match &request.r#ref {
            Reference::Resource(_) if request.argument.name == "id" => {
                vec!["1".into(), "2".into(), "3".into()]
            }
            Reference::Prompt(_) => ["paris", "park", "party"]
                .iter()
                .filter(|v| v.starts_with(request.argument.value.as_str()))
                .map(|v| (*v).to_owned())
                .collect(),
            _ => Vec::new(),
        };
        Ok(CompleteResult::new(
            CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?,
        ))
    }

    async fn set_level(
        &self,
        _: SetLevelRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }
}

/// The conformance server over streamable HTTP at `http://{addr}/mcp`: anonymous callers reach
/// the public tools, loopback `Host`s only, and the server's own origin is allowed.
pub fn endpoint(addr: std::net::SocketAddr, security: Security) -> Endpoint<ConformanceServer> {
    let server = ConformanceServer::default();
    Endpoint::new(
        format!("http://{addr}/mcp"),
        server.clone(),
        &server.tools,
        security,
    )
    .auth(|auth| auth.allow_anonymous(true))
    .allow_origin(format!("http://{addr}"))
    .allow_origin(format!("http://localhost:{}", addr.port()))
}
