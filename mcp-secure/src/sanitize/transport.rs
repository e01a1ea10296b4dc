//! [`CleanedTransport`]: a transport whose every message the server starts itself leaves
//! cleaned.

use std::borrow::Cow;

use rmcp::{
    RoleServer,
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::Transport,
};

use super::outgoing::{CleaningFailed, clean_message};

/// `T`, on which every notification (log messages, progress, list changes) and request (to the
/// client) the server sends is cleaned of hidden characters and their escapes first
/// ([`crate::sanitize`]). A tool sends these through its peer, which writes to the transport
/// without passing any handler. Answers pass as they were made: cleaned by the tool's guard
/// or by [`Secured`](crate::serve::Secured). [`crate::serve::over`] and
/// [`crate::serve::stdio`] serve on one; over streamable HTTP,
/// [`Endpoint`](crate::http::Endpoint) cleans the event streams instead.
#[derive(Debug)]
pub struct CleanedTransport<T>(T);

impl<T: Transport<RoleServer>> CleanedTransport<T> {
    /// `transport`, cleaned.
    pub fn new(transport: T) -> Self {
        Self(transport)
    }
}

impl<T: Transport<RoleServer>> Transport<RoleServer> for CleanedTransport<T> {
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        mut item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // A message whose cleaned form no longer reads as its type is not sent.
        let send = match clean_message(&mut item) {
            Ok(()) => Some(self.0.send(item)),
            Err(CleaningFailed) => {
                tracing::warn!("a server message could not be cleaned and was not sent");
                None
            }
        };
        async move {
            match send {
                Some(send) => send.await,
                None => Ok(()),
            }
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.0.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.0.close()
    }
}
