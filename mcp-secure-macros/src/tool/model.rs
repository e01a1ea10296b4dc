use proc_macro2::Span;
use syn::{Attribute, Ident, LitStr, Type};

use crate::grammar::Rate;

pub struct Model {
    pub router: Ident,
    pub policies: Ident,
    pub tools: Vec<Tool>,
}

pub struct Tool {
    pub fn_ident: Ident,
    pub name: String,
    pub scope: Option<LitStr>,
    pub rate: Rate,
    pub rate_key: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub max_output: Option<u64>,
    pub raw_output: bool,
    /// Why it queries every owner's rows (`all_owners = "..."`), when it takes `AllOwners`.
    pub all_owners: Option<LitStr>,
    pub has_receiver: bool,
    pub args: Vec<Arg>,
    pub input: Input,
    /// `T` when the tool returns `Json<T>` or `Result<Json<T>, _>`.
    pub output: Option<Type>,
    pub span: Span,
}

/// What the user's function receives, in its parameter order.
pub enum Arg {
    Principal,
    Context,
    Round,
    AllOwners,
    Input,
    Field(Ident),
}

pub enum Input {
    /// One `SecureInput` type.
    Type(Type),
    /// Inline parameters: the macro generates `struct <Tool>Input`.
    Inline {
        ident: Ident,
        fields: Vec<InlineField>,
    },
}

pub struct InlineField {
    pub ident: Ident,
    pub ty: Type,
    pub attrs: Vec<Attribute>,
}
