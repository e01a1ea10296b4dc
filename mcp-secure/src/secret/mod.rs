//! Secrets that cannot leak: [`Secret`] and [`SecretString`].
//!
//! A secret is zeroed when dropped, prints as `[REDACTED]` with `{:?}`, and has no `Display`
//! and no `Serialize`: formatting one with `{}` or putting one in a tool's output does not
//! compile. The only way to the value is [`Secret::expose_secret`], which is easy to find in
//! review.
//!
//! As a tool input it deserializes from a JSON string (at most [`MAX_SECRET_BYTES`]) and its
//! JSON Schema says `writeOnly: true` and `format: password`, so clients know not to echo it.
//!
//! ```
//! use mcp_secure::secret::SecretString;
//! let s: SecretString = serde_json::from_str(r#""hunter2""#).unwrap();
//! assert_eq!(format!("{s:?}"), "[REDACTED]");
//! assert_eq!(s.expose_secret(), "hunter2");
//! ```
//!
//! ```compile_fail
//! let s = mcp_secure::secret::SecretString::new("hunter2".into());
//! println!("{s}"); // error: secrets have no `Display`
//! ```
//!
//! ```compile_fail
//! #[derive(serde::Serialize)]
//! struct Out { token: mcp_secure::secret::SecretString } // error: secrets cannot be serialized
//! ```
//!
//! Besides the environment and files, secrets come from a secret store, cached and fetched
//! again as they rotate: `aws` (AWS Secrets Manager, feature `aws-secrets`) and `vault`
//! (HashiCorp Vault or OpenBao KV version 2, feature `vault-secrets`).

use std::{fmt, path::Path};

use secrecy::ExposeSecret as _;
use serde::{Deserialize, Deserializer, Serialize, de};
use zeroize::Zeroize;

#[cfg(feature = "aws-secrets")]
pub mod aws;
#[cfg(any(feature = "aws-secrets", feature = "vault-secrets"))]
mod cache;
#[cfg(any(feature = "aws-secrets", feature = "vault-secrets"))]
mod json;
#[cfg(feature = "vault-secrets")]
pub mod vault;

/// The longest secret a tool input accepts, in bytes.
pub const MAX_SECRET_BYTES: usize = 4096;

/// A value that is zeroed on drop and cannot be printed or serialized by accident.
pub struct Secret<S: Zeroize + ?Sized>(secrecy::SecretBox<S>);

/// A secret string: passwords, tokens, API keys, signing secrets.
pub type SecretString = Secret<str>;

impl<S: Zeroize + ?Sized> Secret<S> {
    /// The value. Every use is a place where the secret leaves its box: keep them few.
    pub fn expose_secret(&self) -> &S {
        self.0.expose_secret()
    }
}

impl<S: Zeroize> Secret<S> {
    /// Boxes a value.
    pub fn from_value(value: S) -> Self {
        Self(secrecy::SecretBox::new(Box::new(value)))
    }
}

impl Secret<str> {
    /// Boxes a string (its buffer is moved, not copied).
    pub fn new(value: String) -> Self {
        Self(secrecy::SecretBox::from(value.into_boxed_str()))
    }

    /// The secret in environment variable `name`.
    pub fn from_env(name: &str) -> Result<Self, SecretError> {
        match std::env::var(name) {
            Ok(value) if value.is_empty() => Err(SecretError::Empty {
                source: format!("environment variable {name}"),
            }),
            Ok(value) => Ok(Self::new(value)),
            Err(std::env::VarError::NotPresent) => Err(SecretError::Missing {
                source: format!("environment variable {name}"),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::NotText {
                source: format!("environment variable {name}"),
            }),
        }
    }

    /// The secret in the file at `path`, without one trailing newline.
    ///
    /// On Unix a file that its group or others may read or write is refused (`chmod 600` it):
    /// a secret anyone on the machine can read is not one.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SecretError> {
        let path = path.as_ref();
        let source = || format!("file {}", path.display());
        let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SecretError::Missing { source: source() },
            _ => SecretError::Unreadable {
                source: source(),
                reason: e.kind().to_string(),
            },
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SecretError::TooOpen {
                    source: source(),
                    mode,
                });
            }
        }
        let _ = metadata;
        let bytes = std::fs::read(path).map_err(|e| SecretError::Unreadable {
            source: source(),
            reason: e.kind().to_string(),
        })?;
        let mut text = String::from_utf8(bytes).map_err(|e| {
            e.into_bytes().zeroize();
            SecretError::NotText { source: source() }
        })?;
        for ending in ["\r\n", "\n"] {
            if text.ends_with(ending) {
                text.truncate(text.len() - ending.len());
                break;
            }
        }
        if text.is_empty() {
            return Err(SecretError::Empty { source: source() });
        }
        Ok(Self::new(text))
    }
}

impl Clone for Secret<str> {
    fn clone(&self) -> Self {
        Self::new(self.expose_secret().to_owned())
    }
}

impl<S: Zeroize + ?Sized> fmt::Debug for Secret<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Never implemented: what makes `{}` on a secret a compile error with a useful message.
#[diagnostic::on_unimplemented(
    message = "secrets cannot be displayed",
    label = "this would print a secret",
    note = "use `{{:?}}` (prints `[REDACTED]`), or `expose_secret()` if the value really must be shown"
)]
pub trait SecretsAreNeverDisplayed {}

impl<S: Zeroize + ?Sized + SecretsAreNeverDisplayed> fmt::Display for Secret<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Never implemented: what makes a secret in a serialized type (a tool's output) a compile
/// error with a useful message.
#[diagnostic::on_unimplemented(
    message = "secrets cannot be serialized into a tool's output or anywhere else",
    label = "a `Secret` here would leave the server",
    note = "remove the secret from this type, or return something derived from it (an id, a fingerprint)"
)]
pub trait SecretsAreNeverSerialized {}

impl<S: Zeroize + ?Sized + SecretsAreNeverSerialized> Serialize for Secret<S> {
    fn serialize<Z: serde::Serializer>(&self, _: Z) -> Result<Z::Ok, Z::Error> {
        Err(serde::ser::Error::custom("secrets are not serialized"))
    }
}

struct SecretStrVisitor;

impl de::Visitor<'_> for SecretStrVisitor {
    type Value = SecretString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret string")
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<SecretString, E> {
        if v.len() > MAX_SECRET_BYTES {
            let mut v = v;
            v.zeroize();
            return Err(E::custom(format_args!(
                "a secret has at most {MAX_SECRET_BYTES} bytes"
            )));
        }
        Ok(SecretString::new(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretString, E> {
        if v.len() > MAX_SECRET_BYTES {
            return Err(E::custom(format_args!(
                "a secret has at most {MAX_SECRET_BYTES} bytes"
            )));
        }
        Ok(SecretString::new(v.to_owned()))
    }

    // Wrong types are reported without the value (serde's default message would repeat it).
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretString, E> {
        Err(E::custom("invalid type: boolean, expected a secret string"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretString, E> {
        Err(E::custom("invalid type: integer, expected a secret string"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretString, E> {
        Err(E::custom("invalid type: integer, expected a secret string"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretString, E> {
        Err(E::custom("invalid type: number, expected a secret string"))
    }
}

impl<'de> Deserialize<'de> for Secret<str> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any`, so that a value of the wrong type reaches the visitor (which
        // reports it without repeating it) instead of the format's own message.
        deserializer.deserialize_any(SecretStrVisitor)
    }
}

impl schemars::JsonSchema for Secret<str> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretString".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "password",
            "writeOnly": true,
            "maxLength": MAX_SECRET_BYTES,
        })
    }
}

/// Why a secret could not be loaded. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The variable or file does not exist.
    Missing {
        /// Where it was looked for.
        source: String,
    },
    /// It exists but is empty.
    Empty {
        /// Where.
        source: String,
    },
    /// It is not UTF-8 text.
    NotText {
        /// Where.
        source: String,
    },
    /// The file could not be read.
    Unreadable {
        /// Where.
        source: String,
        /// The I/O error's kind.
        reason: String,
    },
    /// The file is readable or writable by its group or others (Unix).
    TooOpen {
        /// Where.
        source: String,
        /// Its permission bits.
        mode: u32,
    },
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Missing { source } => {
                write!(f, "secret not found: {source} does not exist")
            }
            SecretError::Empty { source } => write!(f, "secret missing: {source} is empty"),
            SecretError::NotText { source } => {
                write!(f, "secret unusable: {source} is not UTF-8 text")
            }
            SecretError::Unreadable { source, reason } => {
                write!(f, "secret unreadable: {source}: {reason}")
            }
            SecretError::TooOpen { source, mode } => write!(
                f,
                "secret refused: {source} has mode {mode:03o}, so others on this machine can read it; run `chmod 600` on it"
            ),
        }
    }
}

impl std::error::Error for SecretError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_and_deserializing_never_echoes() {
        let s: SecretString = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([REDACTED])");
        for bad in [
            "12345",
            "true",
            "1.5",
            "[\"hunter2\"]",
            "{\"a\": \"hunter2\"}",
            "null",
        ] {
            let e = serde_json::from_str::<SecretString>(bad)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("hunter2") && !e.contains("12345"), "{e}");
        }
        let long = format!("\"{}\"", "x".repeat(MAX_SECRET_BYTES + 1));
        let e = serde_json::from_str::<SecretString>(&long)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("a secret has at most 4096 bytes"), "{e}");
        let max = format!("\"{}\"", "x".repeat(MAX_SECRET_BYTES));
        assert!(serde_json::from_str::<SecretString>(&max).is_ok());
    }

    #[test]
    fn loading_from_files_refuses_open_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = SecretString::from_file(&path).unwrap_err();
            assert!(matches!(e, SecretError::TooOpen { mode: 0o644, .. }));
            assert!(e.to_string().contains("chmod 600") && !e.to_string().contains("s3cr3t"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(
            SecretString::from_file(&path).unwrap().expose_secret(),
            "s3cr3t-value"
        );
        let missing = SecretString::from_file(dir.path().join("nope")).unwrap_err();
        assert!(matches!(missing, SecretError::Missing { .. }));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(
            SecretString::from_file(&empty).unwrap_err(),
            SecretError::Empty { .. }
        ));
    }

    #[test]
    fn loading_from_the_environment_names_the_variable_only() {
        let e = SecretString::from_env("MCP_SECURE_SURELY_UNSET_VARIABLE").unwrap_err();
        assert_eq!(
            e.to_string(),
            "secret not found: environment variable MCP_SECURE_SURELY_UNSET_VARIABLE does not exist"
        );
    }
}
