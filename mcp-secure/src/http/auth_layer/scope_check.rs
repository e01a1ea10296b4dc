//! The JSON-RPC peek at a request's body: the tools it calls, the scope each needs, and the
//! `403` step-up challenge for one the caller lacks.

use super::bearer::challenge;
use super::*;

/// The header naming the tool a `tools/call` request calls (SEP-2243).
pub(super) const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// The JSON-RPC error code of a request whose `Mcp-*` headers disagree with its body
/// (SEP-2243), answered with HTTP `400`.
pub const HEADER_MISMATCH_CODE: i64 = -32020;

/// What a request's `Mcp-Name` header says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NameHeader {
    /// No such header.
    Absent,
    /// The name, decoded from `=?base64?…?=` when it was sent that way.
    Name(String),
    /// Repeated, not text, or a `=?base64?…?=` value that is not Base64 of UTF-8: it cannot be
    /// compared with the body, so it matches nothing.
    Unreadable,
}

/// The request's `Mcp-Name`, every copy of it read: two headers are not one name.
pub(super) fn mcp_name(headers: &HeaderMap) -> NameHeader {
    let mut values = headers.get_all(MCP_NAME).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(MCP_NAME) {
            true => NameHeader::Unreadable,
            false => NameHeader::Absent,
        };
    };
    let Ok(text) = value.to_str() else {
        return NameHeader::Unreadable;
    };
    let encoded = text
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="));
    match encoded {
        None => NameHeader::Name(text.to_owned()),
        Some(inner) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(inner)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .map_or(NameHeader::Unreadable, NameHeader::Name)
        }
    }
}

/// `400` with JSON-RPC error `-32020` for request `id`: the `Mcp-Name` header does not name the
/// tool the body calls.
pub(super) fn header_mismatch(id: &Value) -> Response<Body> {
    let description = "the Mcp-Name header does not match the tool called in the body";
    let error = json!({
        "code": HEADER_MISMATCH_CODE,
        "message": format!("header_mismatch: {description}"),
        "data": {"error": "invalid_request", "error_description": description},
    });
    rpc_error(StatusCode::BAD_REQUEST, id, error)
}

/// An HTTP answer `status` whose body is the JSON-RPC `error` for request `id`.
fn rpc_error(status: StatusCode, id: &Value, error: Value) -> Response<Body> {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": error});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The names of the tools a JSON-RPC message (or batch) calls, with the request ids.
pub(super) fn called_tools(body: &[u8]) -> Vec<(String, Value)> {
    // The fast path reads only `method`, `id` and `params.name`, skipping the arguments
    // without building them; anything it cannot read that way (positional params, duplicate
    // keys, a batch with non-objects) takes the general path, which decides the same.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let typed = if first == Some(&b'[') {
        serde_json::from_slice::<Vec<Envelope<'_>>>(body)
    } else {
        serde_json::from_slice::<Envelope<'_>>(body).map(|m| vec![m])
    };
    match typed {
        Ok(messages) => messages
            .into_iter()
            .filter(|m| m.method.as_deref() == Some("tools/call"))
            .filter_map(|m| {
                let name = m.params?.name?;
                Some((name, m.id.unwrap_or(Value::Null)))
            })
            .collect(),
        Err(_) => called_tools_general(body),
    }
}

/// [`called_tools`] through a full `Value`.
pub(super) fn called_tools_general(body: &[u8]) -> Vec<(String, Value)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let messages = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    messages
        .iter()
        .filter(|m| m["method"] == "tools/call")
        .filter_map(|m| {
            let name = m["params"]["name"].as_str()?;
            Some((name.to_owned(), m["id"].clone()))
        })
        .collect()
}

/// What [`called_tools`] reads of a JSON-RPC message; the rest is skipped unparsed.
#[derive(serde::Deserialize)]
pub(super) struct Envelope<'a> {
    #[serde(default, borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    params: Option<CallParams>,
}

/// `params.name` of an object `params` (an array, as positional params, has no name).
pub(super) struct CallParams {
    name: Option<String>,
}

impl<'de> serde::Deserialize<'de> for CallParams {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
        /// A key, read only as far as "is it `name`".
        struct IsName(bool);
        impl<'de> serde::Deserialize<'de> for IsName {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Key;
                impl Visitor<'_> for Key {
                    type Value = IsName;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: Error>(self, key: &str) -> Result<IsName, E> {
                        Ok(IsName(key == "name"))
                    }
                }
                d.deserialize_str(Key)
            }
        }
        struct Params;
        impl<'de> Visitor<'de> for Params {
            type Value = CallParams;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CallParams, A::Error> {
                let mut name = None;
                while let Some(IsName(is_name)) = map.next_key()? {
                    if !is_name {
                        map.next_value::<IgnoredAny>()?;
                    } else if name.is_some() {
                        return Err(A::Error::duplicate_field("name"));
                    } else {
                        name = Some(map.next_value::<Option<String>>()?);
                    }
                }
                Ok(CallParams {
                    name: name.flatten(),
                })
            }
        }
        deserializer.deserialize_map(Params)
    }
}

/// The scope `tool` needs and the catalog that decides implication, if it is not public.
pub(super) fn required_scope(
    config: &Config,
    tool: &str,
) -> Option<(&'static str, &'static ScopeCatalog)> {
    let policy = config.policies.iter().find(|p| p.name() == tool)?;
    match policy.access() {
        Access::Scope(scope, catalog) => Some((scope, catalog)),
        _ => None,
    }
}

/// The scope `principal` lacks to call `tool`, if any.
pub(super) fn missing_scope(
    config: &Config,
    principal: &Principal,
    tool: &str,
) -> Option<&'static str> {
    let (scope, catalog) = required_scope(config, tool)?;
    (!principal.is_granted(scope, catalog)).then_some(scope)
}

/// The JSON-RPC error code in the body of a `403` (in the server-defined range): a missing scope
/// (`data.code` is then `insufficient_scope`), or a refused `Origin` or `Host`.
pub const FORBIDDEN_CODE: i64 = -32003;

/// `403` with the `insufficient_scope` challenge in `WWW-Authenticate` (what OAuth clients read
/// to step up) and, as the body, the JSON-RPC error for request `id`, so that a client without
/// OAuth support shows its user which scope is missing instead of a bare status.
///
/// The challenge's `scope` is everything the operation needs at once: the scopes the token
/// already holds that this server advertises, then the `missing` ones. A client that replaces
/// its token with what the challenge names keeps what it held; one that adds to it loses
/// nothing either.
pub(super) fn challenge_403(
    config: &Config,
    principal: &Principal,
    missing: &[&str],
    id: &Value,
) -> Response<Body> {
    let meta = &config.metadata_url;
    let mut scopes: Vec<&str> = principal
        .scopes()
        .iter()
        .map(String::as_str)
        .filter(|held| config.scopes.iter().any(|s| s == held))
        .collect();
    for scope in missing {
        if !scopes.contains(scope) {
            scopes.push(scope);
        }
    }
    let scope = scopes.join(" ");
    let needs = match missing {
        [one] => format!("the scope {one}"),
        many => format!("the scopes {}", many.join(", ")),
    };
    let error = json!({
        "code": FORBIDDEN_CODE,
        "message": format!("insufficient_scope: this call needs {needs}"),
        "data": {
            "code": "insufficient_scope",
            "required_scope": missing.first(),
            "required_scopes": missing,
            "scope": scope,
        },
    });
    let response = rpc_error(StatusCode::FORBIDDEN, id, error);
    // In the scheme the token came with: only a DPoP-bound token is accepted as DPoP.
    let scheme = match principal.bound_key() {
        Some(_) => "DPoP",
        None => "Bearer",
    };
    challenge(
        response,
        format!(
            r#"{scheme} error="insufficient_scope", scope="{scope}", resource_metadata="{meta}""#
        ),
    )
}
