//! What can go wrong reading an AWS secret, and AWS's error answers read for their code only.

use std::fmt;

use serde::Deserialize;

use super::super::cache::{RETRY_AFTER, StoreError};
use crate::fetch::FetchError;

/// What went wrong, as a [`AwsSecretError`] says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AwsSecretErrorKind {
    /// No such secret (`ResourceNotFoundException`), or no current version of it.
    NotFound,
    /// The credentials were refused (wrong, expired, a bad signature) or their policy does not
    /// allow `secretsmanager:GetSecretValue` on the secret, or `kms:Decrypt` on its key.
    AccessDenied,
    /// AWS refused the request as invalid (`InvalidRequestException`, `InvalidParameterException`):
    /// most often, the secret is scheduled for deletion.
    InvalidRequest,
    /// AWS is throttling this account's requests.
    Throttled,
    /// AWS answered with a server error (5xx).
    Unavailable,
    /// AWS answered with another error.
    Rejected,
    /// The endpoint could not be reached, or did not answer within 5 s.
    Network,
    /// The endpoint's address is not allowed by the fetch policy.
    Refused,
    /// The answer is not a `GetSecretValue` answer (or is larger than 256 KiB).
    Malformed,
    /// The request could not be signed.
    Signing,
    /// The secret is binary (`SecretBinary`), where text was asked for.
    Binary,
    /// The secret is not a JSON object, so it has no field to read.
    NotJson,
    /// The JSON secret has no field of that name.
    MissingKey,
    /// The JSON secret's field is not a string.
    KeyNotString,
    /// The secret (or its field) is empty.
    Empty,
}

/// Why a secret could not be read from AWS Secrets Manager: its [kind](Self::kind), the
/// secret's id, and AWS's error code and HTTP status when AWS answered. Never the answer's
/// body, the secret or the credentials.
///
/// Match on [`Self::kind`], never on the message:
///
/// ```
/// use mcp_secure::{fetch::FetchPolicy, secret::{SecretString, aws::*}};
/// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// # runtime.block_on(async {
/// let credentials = AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", SecretString::new("k".into()))?;
/// // Nothing listens on port 9 here.
/// let manager = SecretsManager::new("us-east-1", credentials)?
///     .endpoint("http://127.0.0.1:9")?
///     .fetch_policy(&FetchPolicy::default().allow_loopback())?;
/// let error = manager.secret("prod/db").get().await.unwrap_err();
/// assert_eq!(error.kind(), AwsSecretErrorKind::Network);
/// assert_eq!((error.secret_id(), error.code(), error.status()), ("prod/db", None, None));
/// # Ok::<(), AwsConfigError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSecretError {
    kind: AwsSecretErrorKind,
    secret_id: String,
    pub(super) key: Option<String>,
    code: Option<String>,
    status: Option<u16>,
}

impl AwsSecretError {
    pub(super) fn new(kind: AwsSecretErrorKind, secret_id: &str) -> Self {
        Self {
            kind,
            secret_id: secret_id.to_owned(),
            key: None,
            code: None,
            status: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> AwsSecretErrorKind {
        self.kind
    }

    /// The secret asked for (name or ARN).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// AWS's error code (`ResourceNotFoundException`, `AccessDeniedException`, …), when it
    /// answered with one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The HTTP status of AWS's answer, when it answered with an error.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl StoreError for AwsSecretError {
    fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            AwsSecretErrorKind::Throttled
                | AwsSecretErrorKind::Unavailable
                | AwsSecretErrorKind::Network
        )
    }
}

impl fmt::Display for AwsSecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use AwsSecretErrorKind as K;
        let id = &self.secret_id;
        let key = self.key.as_deref().unwrap_or_default();
        let answer = match (self.status, &self.code) {
            (Some(status), Some(code)) => format!(" ({status} {code})"),
            (Some(status), None) => format!(" ({status})"),
            (None, Some(code)) => format!(" ({code})"),
            (None, None) => String::new(),
        };
        match self.kind {
            K::NotFound => write!(
                f,
                "AWS Secrets Manager has no secret `{id}`{answer}: check its name or ARN, and the region"
            ),
            K::AccessDenied => write!(
                f,
                "AWS Secrets Manager denied access to secret `{id}`{answer}: check that the credentials are current (and this machine's clock: a signature is valid for 15 minutes), and that their policy allows secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)"
            ),
            K::InvalidRequest => write!(
                f,
                "AWS Secrets Manager refused the request for secret `{id}`{answer}: most often the secret is scheduled for deletion; restore it or name another"
            ),
            K::Throttled => write!(
                f,
                "AWS Secrets Manager is throttling requests{answer} (secret `{id}`): tried again after {} s at the soonest; a longer cache TTL makes fewer requests",
                RETRY_AFTER.as_secs()
            ),
            K::Unavailable => write!(
                f,
                "AWS Secrets Manager failed{answer} reading secret `{id}`; it is tried again on a later read"
            ),
            K::Rejected => write!(
                f,
                "AWS Secrets Manager refused to read secret `{id}`{answer}"
            ),
            K::Network => write!(
                f,
                "AWS Secrets Manager could not be reached, or did not answer within 5 s (secret `{id}`)"
            ),
            K::Refused => write!(
                f,
                "AWS Secrets Manager (secret `{id}`): the endpoint's address is not public; allow its network with `SecretsManager::fetch_policy`"
            ),
            K::Malformed => write!(
                f,
                "AWS Secrets Manager's answer for secret `{id}` is not a GetSecretValue answer"
            ),
            K::Signing => write!(f, "the request for secret `{id}` could not be signed"),
            K::Binary => write!(
                f,
                "secret `{id}` is binary (SecretBinary): read it with `SecretsManager::fetch`, or store it as text"
            ),
            K::NotJson => write!(
                f,
                "secret `{id}` is not a JSON object (or names a field twice), so it has no field `{key}`"
            ),
            K::MissingKey => write!(f, "secret `{id}` has no field `{key}`"),
            K::KeyNotString => write!(f, "field `{key}` of secret `{id}` is not a string"),
            K::Empty if self.key.is_some() => {
                write!(f, "field `{key}` of secret `{id}` is empty")
            }
            K::Empty => write!(f, "secret `{id}` is empty"),
        }
    }
}

impl std::error::Error for AwsSecretError {}

pub(super) fn from_fetch(secret_id: &str, e: FetchError) -> AwsSecretError {
    let kind = match e {
        FetchError::Refused => AwsSecretErrorKind::Refused,
        FetchError::TooLarge(_) => AwsSecretErrorKind::Malformed,
        FetchError::NotUrl | FetchError::Failed(_) | FetchError::Status(_) => {
            AwsSecretErrorKind::Network
        }
    };
    AwsSecretError::new(kind, secret_id)
}

/// AWS's error code from a `__type` or `x-amzn-ErrorType` (`aws.protocol#Code:detail`), if it
/// is one of [`KNOWN_CODES`]: what else that field holds is not repeated.
pub(super) fn error_code(raw: &str) -> Option<String> {
    let code = raw.rsplit('#').next()?.split(':').next()?;
    // Only a code AWS documents: an answer could put anything shaped like one there (a key, a
    // password), and the code is printed.
    KNOWN_CODES.contains(&code).then(|| code.to_owned())
}

/// The error codes of Secrets Manager's `GetSecretValue` and of AWS's common errors that an
/// error keeps; any other is dropped, and the status decides.
const KNOWN_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredTokenException",
    "ExpiredToken",
    "DecryptionFailure",
    "InvalidRequestException",
    "InvalidParameterException",
    "ValidationException",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "InvalidNextTokenException",
    "OptInRequired",
    "RequestExpired",
    "NotAuthorized",
];

/// The error an answer with `status` and `body` means; only the body's `__type` is read.
pub(super) fn error_from_answer(
    secret_id: &str,
    status: u16,
    header_code: Option<String>,
    body: &[u8],
) -> AwsSecretError {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        error_type: Option<String>,
    }
    // JSON, as Secrets Manager answers; or the XML of AWS's query-protocol errors (which its
    // emulators answer for signature and IAM failures).
    let body_code = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(json) => json.error_type.and_then(|t| error_code(&t)),
        Err(_) => std::str::from_utf8(body).ok().and_then(|xml| {
            let start = xml.find("<Code>")? + "<Code>".len();
            let len = xml[start..].find("</Code>")?;
            error_code(&xml[start..start + len])
        }),
    };
    let code = header_code.or(body_code);
    use AwsSecretErrorKind as K;
    let kind = match code.as_deref() {
        Some("ResourceNotFoundException") => K::NotFound,
        Some(
            "AccessDeniedException"
            | "AccessDenied"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "ExpiredTokenException"
            | "ExpiredToken"
            | "DecryptionFailure",
        ) => K::AccessDenied,
        Some("InvalidRequestException" | "InvalidParameterException" | "ValidationException") => {
            K::InvalidRequest
        }
        Some("ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded") => {
            K::Throttled
        }
        Some("InternalServiceError" | "InternalFailure" | "ServiceUnavailable") => K::Unavailable,
        _ if status == 429 => K::Throttled,
        _ if status >= 500 => K::Unavailable,
        _ if status == 401 || status == 403 => K::AccessDenied,
        _ => K::Rejected,
    };
    let mut error = AwsSecretError::new(kind, secret_id);
    error.code = code;
    error.status = Some(status);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &str = "MARKER-7c1f-do-not-print";

    #[test]
    fn error_answers_keep_the_code_and_never_the_body() {
        let body = format!(
            r#"{{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"{MARKER}","SecretString":"{MARKER}"}}"#
        );
        let e = error_from_answer("prod/db", 400, None, body.as_bytes());
        assert_eq!(e.kind(), AwsSecretErrorKind::NotFound);
        assert_eq!(e.code(), Some("ResourceNotFoundException"));
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains(MARKER), "{shown}");
            assert!(shown.contains("prod/db"), "{shown}");
        }

        // A `__type` that is not a code is not repeated either.
        let body = format!(r#"{{"__type":"{MARKER} {MARKER}"}}"#);
        let e = error_from_answer("prod/db", 400, None, body.as_bytes());
        assert_eq!((e.kind(), e.code()), (AwsSecretErrorKind::Rejected, None));
        assert!(!format!("{e} {e:?}").contains(MARKER));

        for (status, code, kind) in [
            (
                400,
                "AccessDeniedException",
                AwsSecretErrorKind::AccessDenied,
            ),
            (
                403,
                "InvalidSignatureException",
                AwsSecretErrorKind::AccessDenied,
            ),
            (
                400,
                "InvalidRequestException",
                AwsSecretErrorKind::InvalidRequest,
            ),
            (400, "ThrottlingException", AwsSecretErrorKind::Throttled),
            (500, "InternalServiceError", AwsSecretErrorKind::Unavailable),
            (429, "", AwsSecretErrorKind::Throttled),
            (503, "", AwsSecretErrorKind::Unavailable),
        ] {
            let body = format!(r#"{{"__type":"{code}","message":"{MARKER}"}}"#);
            let e = error_from_answer("s", status, None, body.as_bytes());
            assert_eq!(e.kind(), kind, "{status} {code}");
            assert!(
                e.is_transient()
                    == matches!(
                        kind,
                        AwsSecretErrorKind::Throttled | AwsSecretErrorKind::Unavailable
                    )
            );
        }
        // The header's code wins (AWS sends both).
        let e = error_from_answer(
            "s",
            400,
            error_code("ResourceNotFoundException:http://internal.amazon.com/"),
            b"not json",
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));
        let xml = format!(
            "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>{MARKER}</Message></Error></ErrorResponse>"
        );
        let e = error_from_answer("s", 403, None, xml.as_bytes());
        assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
        assert!(!format!("{e} {e:?}").contains(MARKER));
    }
}
