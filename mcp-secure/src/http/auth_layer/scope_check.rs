//! The JSON-RPC peek at a request's body: the tools it calls, the scope each needs, and the
//! `403` step-up challenge for one the caller lacks.

use super::bearer::challenge;
use super::*;

/// The header naming the tool a `tools/call` request calls.
pub(super) const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

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
pub(super) fn challenge_403(config: &Config, scope: &str, id: &Value) -> Response<Body> {
    let meta = &config.metadata_url;
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": FORBIDDEN_CODE,
            "message": format!("insufficient_scope: this call needs the scope {scope}"),
            "data": {"code": "insufficient_scope", "required_scope": scope},
        },
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    challenge(
        response,
        format!(
            r#"Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{meta}""#
        ),
    )
}
