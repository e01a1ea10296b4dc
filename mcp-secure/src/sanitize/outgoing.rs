//! The results and errors a server sends, cleaned where they leave it ([`crate::serve::Secured`],
//! which [`crate::serve::stdio`] puts around every server): prompts,
//! resources, completions, listings and the server's instructions, whatever handler made them.
//! Tool results are cleaned by their tool's guard, which knows `raw_output`. The messages a
//! server starts itself (notifications: log messages, progress; requests to the client) are
//! cleaned where they are sent ([`clean_message`]).

use rmcp::model::{ServerJsonRpcMessage, ServerResult};
use serde::{Serialize, de::DeserializeOwned};

/// `value` with every string cleaned ([`super::clean_value`]); unchanged if nothing was hidden.
/// `Err` if the cleaned form no longer reads as `T` (then it must not be sent).
pub(crate) fn clean_typed<T: Serialize + DeserializeOwned>(
    value: &mut T,
) -> Result<(), CleaningFailed> {
    let mut json = serde_json::to_value(&*value).map_err(|_| CleaningFailed)?;
    if super::clean_value(&mut json) {
        *value = serde_json::from_value(json).map_err(|_| CleaningFailed)?;
    }
    Ok(())
}

/// A result whose cleaned form is no longer of its type: answered with an internal error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CleaningFailed;

/// Cleans every string of `result` but a tool's.
pub(crate) fn clean_server_result(result: &mut ServerResult) -> Result<(), CleaningFailed> {
    match result {
        // Cleaned by the tool's guard, unless the tool opted out (`raw_output`).
        ServerResult::CallToolResult(_) => Ok(()),
        ServerResult::EmptyResult(_) => Ok(()),
        ServerResult::GetPromptResult(r) => clean_typed(r),
        ServerResult::ListPromptsResult(r) => clean_typed(r),
        ServerResult::ReadResourceResult(r) => clean_typed(r),
        ServerResult::ListResourcesResult(r) => clean_typed(r),
        ServerResult::ListResourceTemplatesResult(r) => clean_typed(r),
        ServerResult::CompleteResult(r) => clean_typed(r),
        // The tools' definitions are the author's, checked when they compiled, and their
        // schemas' patterns hold `\u` escapes that are rules, not text.
        ServerResult::ListToolsResult(_) => Ok(()),
        ServerResult::InitializeResult(r) => clean_typed(r),
        ServerResult::DiscoverResult(r) => clean_typed(r),
        ServerResult::GetSkillResult(r) => clean_typed(r),
        ServerResult::ListSkillsResult(r) => clean_typed(r),
        ServerResult::CustomResult(r) => clean_typed(r),
        // Every other result (and any a later rmcp adds), as the JSON it is sent as.
        other => clean_typed(other),
    }
}

/// Cleans what the server sends of its own accord: a notification's or a request's every
/// string. Answers pass as they are: they were cleaned where they were made (a tool's by its
/// guard, which knows `raw_output`; every other by [`clean_answer`]).
pub(crate) fn clean_message(message: &mut ServerJsonRpcMessage) -> Result<(), CleaningFailed> {
    match message {
        ServerJsonRpcMessage::Notification(n) => clean_typed(&mut n.notification),
        ServerJsonRpcMessage::Request(r) => clean_typed(&mut r.request),
        ServerJsonRpcMessage::Response(_) => Ok(()),
        ServerJsonRpcMessage::Error(e) => {
            clean_error(&mut e.error);
            Ok(())
        }
    }
}

/// Cleans the message and data of an error.
pub(crate) fn clean_error(error: &mut rmcp::ErrorData) {
    if let std::borrow::Cow::Owned(m) = super::clean(&error.message) {
        error.message = m.into();
    }
    if let Some(data) = &mut error.data {
        super::clean_value(data);
    }
}

/// A handler's answer of type `T`: cleaned, or an internal error if it could not be; an error
/// with its message and data cleaned.
pub(crate) fn clean_typed_answer<T: Serialize + DeserializeOwned>(
    answer: Result<T, rmcp::ErrorData>,
) -> Result<T, rmcp::ErrorData> {
    match answer {
        Ok(mut value) => match clean_typed(&mut value) {
            Ok(()) => Ok(value),
            Err(CleaningFailed) => Err(rmcp::ErrorData::internal_error(
                "the result could not be sent",
                None,
            )),
        },
        Err(mut error) => {
            clean_error(&mut error);
            Err(error)
        }
    }
}

/// An answer of a request: cleaned, or an internal error if it could not be.
pub(crate) fn clean_answer(
    answer: Result<ServerResult, rmcp::ErrorData>,
) -> Result<ServerResult, rmcp::ErrorData> {
    match answer {
        Ok(mut result) => match clean_server_result(&mut result) {
            Ok(()) => Ok(result),
            Err(CleaningFailed) => Err(rmcp::ErrorData::internal_error(
                "the result could not be sent",
                None,
            )),
        },
        Err(mut error) => {
            clean_error(&mut error);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{GetPromptResult, PromptMessage, Role};

    use super::*;

    #[test]
    fn a_prompt_loses_its_hidden_characters_and_their_escapes() {
        let result = GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            "Summarize 😀\u{FE00}\u{E0149} \u{1b}[31m{\"a\":\"\\u001b\"}",
        )]);
        let answer = clean_answer(Ok(ServerResult::GetPromptResult(result))).unwrap();
        let json = serde_json::to_string(&answer).unwrap();
        assert!(json.contains("Summarize 😀 "), "{json}");
        for hidden in ["\\ufe00", "\\udb40", "\\u001b", "\u{FE00}", "\u{E0149}"] {
            assert!(!json.to_lowercase().contains(hidden), "{hidden} in {json}");
        }
    }

    #[test]
    fn an_error_message_is_cleaned() {
        let answer = clean_answer(Err(rmcp::ErrorData::invalid_params(
            "no prompt \u{202E}x\u{200B}",
            Some(serde_json::json!({"name": "\u{E0041}"})),
        )));
        let error = answer.unwrap_err();
        assert_eq!(error.message, "no prompt x");
        assert_eq!(error.data, Some(serde_json::json!({"name": ""})));
    }
}
