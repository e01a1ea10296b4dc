//! [`Cleaned`]: a server whose every answer but a tool's leaves cleaned, for transports that
//! take a `ServerHandler` (rmcp's streamable HTTP service, which
//! [`Endpoint`](crate::http::Endpoint) wraps its server in). Over stdio,
//! [`Secured`](crate::serve::Secured) cleans the answers of any `Service` the same way.

use std::{borrow::Cow, future::Future};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    model::*,
    service::{MaybeSendFuture, NotificationContext, RequestContext, SubscriptionContext},
};

use super::outgoing::{clean_error, clean_typed, clean_typed_answer};

/// `S`, whose prompts, resources, completions, prompt and resource listings, skills, tasks,
/// custom results, server information and errors are cleaned of hidden characters and their escapes before they
/// leave ([`crate::sanitize`]). Tool calls pass through untouched: their guard cleans them, and
/// knows a tool's `raw_output`; their futures are not wrapped (a tool call's is large). Tool
/// listings too: their schemas' patterns hold `\u` escapes that are rules, not text. Every
/// method of rmcp's `ServerHandler` is delegated, so nothing the server does is lost.
#[derive(Clone, Debug)]
pub struct Cleaned<S>(pub S);

/// Cleans what `$call` answers.
macro_rules! cleaned {
    ($call:expr) => {{
        let answer = $call;
        async move { clean_typed_answer(answer.await) }
    }};
}

/// Cleans the error `$call` may answer (its success carries no text).
macro_rules! cleaned_error {
    ($call:expr) => {{
        let answer = $call;
        async move {
            answer.await.map_err(|mut error| {
                clean_error(&mut error);
                error
            })
        }
    }};
}

/// Cleans a response that is either a result or a request for input.
macro_rules! cleaned_response {
    ($call:expr, $response:ident) => {{
        let answer = $call;
        async move {
            match answer.await {
                Ok($response::Complete(result)) => {
                    clean_typed_answer(Ok(result)).map($response::Complete)
                }
                Ok($response::InputRequired(input)) => {
                    clean_typed_answer(Ok(input)).map($response::InputRequired)
                }
                // A kind a later rmcp adds, which this cannot clean: not sent.
                Ok(_) => Err(McpError::internal_error(
                    "the result could not be sent",
                    None,
                )),
                Err(mut error) => {
                    clean_error(&mut error);
                    Err(error)
                }
            }
        }
    }};
}

// The legacy methods (logging levels, resource subscriptions) are delegated too.
#[allow(deprecated)]
impl<S: ServerHandler> ServerHandler for Cleaned<S> {
    fn ping(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.0.ping(context)
    }

    fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<InitializeResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.initialize(request, context))
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, McpError> {
        clean_typed_answer(self.0.negotiate_initialize(request))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.0.supported_protocol_versions()
    }

    fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<DiscoverResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.discover(context))
    }

    fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CompleteResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.complete(request, context))
    }

    fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        cleaned_error!(self.0.set_level(request, context))
    }

    fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetPromptResponse, McpError>> + MaybeSendFuture + '_ {
        cleaned_response!(self.0.get_prompt(request, context), GetPromptResponse)
    }

    fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListPromptsResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.list_prompts(request, context))
    }

    fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourcesResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.list_resources(request, context))
    }

    fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourceTemplatesResult, McpError>> + MaybeSendFuture + '_
    {
        cleaned!(self.0.list_resource_templates(request, context))
    }

    fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceResponse, McpError>> + MaybeSendFuture + '_ {
        cleaned_response!(self.0.read_resource(request, context), ReadResourceResponse)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.0.accepted_subscription_filter(requested)
    }

    fn listen(
        &self,
        context: SubscriptionContext,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        cleaned_error!(self.0.listen(context))
    }

    fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        cleaned_error!(self.0.subscribe(request, context))
    }

    fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        cleaned_error!(self.0.unsubscribe(request, context))
    }

    fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, McpError>> + MaybeSendFuture + '_ {
        self.0.call_tool(request, context)
    }

    fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, McpError>> + MaybeSendFuture + '_ {
        // The tools' definitions are the author's, checked when they compiled, and their
        // schemas' patterns hold `\u` escapes that are rules, not text: sent as made.
        cleaned_error!(self.0.list_tools(request, context))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0.get_tool(name)
    }

    fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CustomResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.on_custom_request(request, context))
    }

    fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_cancelled(notification, context)
    }

    fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_progress(notification, context)
    }

    fn on_initialized(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_initialized(context)
    }

    fn on_roots_list_changed(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_roots_list_changed(context)
    }

    fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_custom_notification(notification, context)
    }

    fn get_info(&self) -> ServerConfig {
        let mut info = self.0.get_info();
        // Server information that does not read back after cleaning is sent as it was made:
        // it is the author's, not a caller's.
        let _ = clean_typed(&mut info);
        info
    }

    fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetTaskResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.get_task(request, context))
    }

    fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        cleaned_error!(self.0.update_task(request, context))
    }

    fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        cleaned_error!(self.0.cancel_task(request, context))
    }

    fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListSkillsResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.list_skills(request, context))
    }

    fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetSkillResult, McpError>> + MaybeSendFuture + '_ {
        cleaned!(self.0.get_skill(request, context))
    }

    fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceDirectoryResult, McpError>> + MaybeSendFuture + '_
    {
        cleaned!(self.0.read_resource_directory(request, context))
    }
}
