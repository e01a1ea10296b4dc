use mcp_secure::prelude::*;

/// Described for the schema, but not parseable by serde.
pub struct Opaque;

impl schemars::JsonSchema for Opaque {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Opaque".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object" })
    }
}

/// The error is reported at the field's type.
#[derive(SecureInput)]
pub struct Input {
    /// Anything.
    #[mcp(unbounded)]
    pub opaque: Opaque,
}

fn main() {}
