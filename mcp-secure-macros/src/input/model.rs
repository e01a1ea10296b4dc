use proc_macro2::Span;
use syn::{Ident, LitStr, Type};

/// What a field's type is, read from its syntax.
#[derive(Clone)]
pub enum Shape {
    Str,
    Int(String),
    Float(String),
    Bool,
    SafePath,
    Secret,
    Json,
    Option(Box<Shape>),
    Vec(Box<Shape>),
    Other,
}

/// The last segment of a type path and its first generic type argument: `Vec` and `String` for
/// `std::vec::Vec<String>`.
pub fn head_and_arg(ty: &Type) -> Option<(&Ident, Option<&Type>)> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    let arg = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => match a.args.first() {
            Some(syn::GenericArgument::Type(t)) => Some(t),
            _ => None,
        },
        _ => None,
    };
    Some((&last.ident, arg))
}

impl Shape {
    pub fn of(ty: &Type) -> Shape {
        let Some((head, arg)) = head_and_arg(ty) else {
            return Shape::Other;
        };
        let name = head.to_string();
        let inner = || arg.map(Shape::of);
        match name.as_str() {
            "String" => Shape::Str,
            "bool" => Shape::Bool,
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
            | "u128" | "usize" => Shape::Int(name),
            "f32" | "f64" => Shape::Float(name),
            "SafePath" => Shape::SafePath,
            "SecretString" | "Secret" => Shape::Secret,
            "Value" => Shape::Json,
            "Option" => inner().map_or(Shape::Other, |s| Shape::Option(Box::new(s))),
            "Vec" => inner().map_or(Shape::Other, |s| Shape::Vec(Box::new(s))),
            _ => Shape::Other,
        }
    }

    /// Whether a tool parameter of this type is an inline field rather than an input type.
    pub fn is_inline_param(&self) -> bool {
        !matches!(self, Shape::Other)
    }

    pub fn describe(&self) -> String {
        match self {
            Shape::Str => "`String`".into(),
            Shape::Int(n) | Shape::Float(n) => format!("`{n}`"),
            Shape::Bool => "`bool`".into(),
            Shape::SafePath => "`SafePath`".into(),
            Shape::Secret => "a secret".into(),
            Shape::Json => "`serde_json::Value`".into(),
            Shape::Option(s) => format!("an optional {}", s.describe()),
            Shape::Vec(s) => format!("a list of {}", s.describe()),
            Shape::Other => "a nested type".into(),
        }
    }
}

#[derive(Clone)]
pub enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub fn as_f64(&self) -> f64 {
        match self {
            Num::Int(i) => *i as f64,
            Num::Float(f) => *f,
        }
    }
}

/// The rules of one `#[mcp(...)]` list, each with the span of its keyword.
#[derive(Default, Clone)]
pub struct Rules {
    pub length: Option<(Span, Option<u64>, Option<u64>)>,
    pub range: Option<(Span, Option<Num>, Option<Num>)>,
    pub regex: Option<LitStr>,
    pub email: Option<Span>,
    pub url: Option<UrlRule>,
    pub no_control: Option<Span>,
    pub one_of: Option<(Span, Vec<String>)>,
    pub items: Option<(Span, Option<u64>, Option<u64>)>,
    pub each: Option<(Span, Box<Rules>)>,
    pub path: Option<(Span, LitStr)>,
    pub unbounded: Option<Span>,
    pub not_secret: Option<Span>,
    /// `not_a_path = "why"`: a field named like a path that holds no path, and why.
    pub not_a_path: Option<LitStr>,
}

#[derive(Clone)]
pub struct UrlRule {
    pub span: Span,
    pub schemes: Vec<String>,
    /// Where each of `schemes` was written (the rule's span for the default `https`).
    pub scheme_spans: Vec<Span>,
    pub allow_private: bool,
    /// `allow_dangerous_schemes`, where it was written.
    pub allow_dangerous: Option<Span>,
}

impl Rules {
    pub fn string_rules(&self) -> Vec<(&'static str, Span)> {
        let mut v = Vec::new();
        if let Some((s, ..)) = &self.length {
            v.push((crate::symbol::LENGTH, *s));
        }
        if let Some(r) = &self.regex {
            v.push((crate::symbol::REGEX, r.span()));
        }
        if let Some(s) = self.email {
            v.push((crate::symbol::EMAIL, s));
        }
        if let Some(u) = &self.url {
            v.push((crate::symbol::URL, u.span));
        }
        if let Some(s) = self.no_control {
            v.push((crate::symbol::NO_CONTROL, s));
        }
        if let Some((s, _)) = &self.one_of {
            v.push((crate::symbol::ONE_OF, *s));
        }
        v
    }
}

pub struct Field {
    pub ident: Ident,
    pub ty: Type,
    pub shape: Shape,
    pub rules: Rules,
    pub doc: String,
}

pub enum Model {
    Struct {
        ident: Ident,
        doc: String,
        fields: Vec<Field>,
    },
    Allowlist {
        ident: Ident,
        variants: Vec<(Ident, String)>,
    },
}
