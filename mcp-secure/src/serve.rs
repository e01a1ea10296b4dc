//! Serving a server with its [`Security`] over stdio (or any transport but streamable HTTP,
//! whose requests get it from the [`AuthLayer`](crate::http::AuthLayer)).

use std::borrow::Cow;

use rmcp::{
    RoleServer, Service, ServiceExt,
    model::{ProtocolVersion, ServerConfig},
    service::{NotificationContext, RequestContext, RunningService, ServerInitializeError},
    transport::IntoTransport,
};

use crate::{Security, sanitize::CleanedTransport};

/// A server together with its [`Security`]: every request it handles carries the configuration,
/// which is how a guarded tool finds its limiter, audit sinks, path roots and its caller (the
/// [local principal](crate::SecurityBuilder::local_principal)); every result and error it
/// answers with is cleaned of hidden characters ([`crate::sanitize`]; tool results by their
/// guard, which knows `raw_output`). Serve this instead of the bare
/// server on a transport other than streamable HTTP; [`over`] and [`stdio`] do it for you,
/// on a transport that also cleans the messages the server sends of its own accord
/// ([`CleanedTransport`]: log messages, progress, requests to the client).
///
/// ```
/// # use mcp_secure::prelude::*;
/// # mcp_secure::scopes! { "notes:read" }
/// # #[derive(Clone)] struct Notes { tools: Tools<Self> }
/// # #[mcp_tools] impl Notes {
/// #     #[mcp_tool(scope = "notes:read", rate = "10/s")] async fn notes_count(&self) -> String { "0".into() }
/// # }
/// # #[tool_handler(router = self.tools)] impl ServerHandler for Notes {}
/// use mcp_secure::{Security, serve::Secured};
/// # fn main() {
/// let security = Security::builder().build().unwrap();
/// let server = Secured::new(Notes { tools: Notes::tools() }, security);
/// // `server` is an rmcp service: `server.serve(transport)`.
/// # let _ = server;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Secured<S> {
    server: S,
    security: Security,
}

impl<S> Secured<S> {
    /// `server`, whose requests carry `security`.
    pub fn new(server: S, security: Security) -> Self {
        Self { server, security }
    }

    /// The server.
    pub fn server(&self) -> &S {
        &self.server
    }

    /// Its configuration.
    pub fn security(&self) -> &Security {
        &self.security
    }
}

impl<S: Service<RoleServer>> Service<RoleServer> for Secured<S> {
    fn handle_request(
        &self,
        request: <RoleServer as rmcp::service::ServiceRole>::PeerReq,
        mut context: RequestContext<RoleServer>,
    ) -> impl Future<
        Output = Result<<RoleServer as rmcp::service::ServiceRole>::Resp, rmcp::ErrorData>,
    > + Send
    + '_ {
        context.extensions.insert(self.security.clone());
        // Every result leaves through here: cleaned of hidden characters (`sanitize`).
        // Boxed: the handler's future (a tool call's is large) is then not copied again each
        // time this one is moved (measured: 4 000 instructions of a call's 172 000).
        let answer = Box::pin(self.server.handle_request(request, context));
        async move { crate::sanitize::outgoing::clean_answer(answer.await) }
    }

    fn handle_notification(
        &self,
        notification: <RoleServer as rmcp::service::ServiceRole>::PeerNot,
        mut context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = Result<(), rmcp::ErrorData>> + Send + '_ {
        context.extensions.insert(self.security.clone());
        self.server.handle_notification(notification, context)
    }

    fn get_info(&self) -> ServerConfig {
        self.server.get_info()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.server.supported_protocol_versions()
    }
}

/// Serves `server` over standard input and output with `security` ([`over`]), whose
/// [`local_principal`](crate::SecurityBuilder::local_principal) is the caller of every request
/// (none: only public tools can be called). Returns once the client has initialized the
/// session; `.waiting().await` runs it to the end.
pub async fn stdio<S: Service<RoleServer>>(
    server: S,
    security: Security,
) -> Result<RunningService<RoleServer, Secured<S>>, ServerInitializeError> {
    over(server, security, rmcp::transport::stdio()).await
}

/// Serves `server` with `security` on `transport` (any of rmcp's but streamable HTTP, which
/// [`Endpoint`](crate::http::Endpoint) serves): every request carries `security`
/// ([`Secured`]), and everything the server sends, answers and the messages it starts itself
/// alike, leaves cleaned of hidden characters ([`CleanedTransport`]). Returns once the client
/// has initialized the session.
pub async fn over<S, T, E, A>(
    server: S,
    security: Security,
    transport: T,
) -> Result<RunningService<RoleServer, Secured<S>>, ServerInitializeError>
where
    S: Service<RoleServer>,
    T: IntoTransport<RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    Secured::new(server, security)
        .serve(CleanedTransport::new(transport.into_transport()))
        .await
}
