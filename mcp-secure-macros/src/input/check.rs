use syn::{DeriveInput, Ident, LitStr, Type};

use super::{
    model::{Field, Model, Num, Rules, Shape, head_and_arg},
    syntax::{Parsed, ParsedField},
};
use crate::{ctxt::Errors, grammar, scopes::doc_text, symbol::*};

pub fn check(input: &DeriveInput, parsed: Parsed) -> syn::Result<Model> {
    let mut errors = Errors::default();
    let model = match parsed {
        Parsed::Struct(fields) => Model::Struct {
            ident: input.ident.clone(),
            doc: doc_text(&input.attrs),
            fields: fields
                .into_iter()
                .map(|f| check_field(f, &mut errors))
                .collect(),
        },
        Parsed::Allowlist(variants) => Model::Allowlist {
            ident: input.ident.clone(),
            variants: variants
                .into_iter()
                .map(|v| {
                    let name = snake_case(&v.to_string());
                    (v, name)
                })
                .collect(),
        },
    };
    errors.into_result()?;
    Ok(model)
}

fn check_field(field: ParsedField, errors: &mut Errors) -> Field {
    let shape = Shape::of(&field.ty);
    let unbounded = field.rules.unbounded.is_some();
    check_secret_name(&field, &shape, errors);
    // `path(within)` on a string already has its own error.
    if field.rules.path.is_none() {
        check_path_name(
            &field.ident,
            &field.ty,
            field.rules.not_a_path.as_ref(),
            errors,
        );
    }
    check_rules(
        &shape,
        &field.rules,
        &field.ty,
        &field.ident,
        unbounded,
        false,
        errors,
    );
    Field {
        ident: field.ident,
        ty: field.ty,
        shape,
        rules: field.rules,
        doc: field.doc,
    }
}

fn check_rules(
    shape: &Shape,
    rules: &Rules,
    ty: &Type,
    name: &Ident,
    unbounded: bool,
    element: bool,
    errors: &mut Errors,
) {
    let shape = match shape {
        Shape::Option(inner) => inner.as_ref(),
        s => s,
    };
    let what = if element {
        format!("the elements of `{name}` are")
    } else {
        format!("`{name}` is")
    };
    let desc = shape.describe();
    for (rule, span) in rules.string_rules() {
        if matches!(shape, Shape::Secret) {
            if rule != LENGTH {
                errors.at(span, format!("`{rule}` does not apply to secrets (its message could describe the value); only `length` does"));
            }
            continue;
        }
        if !matches!(shape, Shape::Str) {
            let hint = match (shape, rule) {
                (Shape::Int(_) | Shape::Float(_), LENGTH) => {
                    "; for numbers use `range(min = .., max = ..)`".to_owned()
                }
                (Shape::Vec(_), _) => format!("; to check every element write `each({rule}...)`"),
                _ => String::new(),
            };
            errors.at(
                span,
                format!("`{rule}` applies to `String` fields, but {what} {desc}{hint}"),
            );
        }
    }
    if let Some((span, min, max)) = &rules.range {
        match shape {
            Shape::Int(ty_name) => {
                let (lo, hi) = int_bounds(ty_name);
                for n in [min, max].into_iter().flatten() {
                    match n {
                        Num::Float(_) => errors.at(
                            *span,
                            format!(
                                "{what} `{ty_name}`: write integer bounds, e.g. `range(min = 1)`"
                            ),
                        ),
                        Num::Int(i) if *i < lo || *i > hi => {
                            errors.at(
                                *span,
                                format!("the bound {i} does not fit `{ty_name}` ({lo} to {hi})"),
                            );
                        }
                        Num::Int(_) => {}
                    }
                }
            }
            Shape::Float(_) => {}
            _ => {
                let hint = if matches!(shape, Shape::Str) {
                    "; for strings use `length(min = .., max = ..)`"
                } else {
                    ""
                };
                errors.at(
                    *span,
                    format!("`range` applies to numbers, but {what} {desc}{hint}"),
                );
            }
        }
        if let (Some(min), Some(max)) = (min, max)
            && min.as_f64() > max.as_f64()
        {
            errors.at(*span, "`min` is larger than `max`; no value could pass");
        }
    }
    for (rule, bounds) in [(LENGTH, &rules.length), (ITEMS, &rules.items)] {
        if let Some((span, Some(min), Some(max))) = bounds
            && min > max
        {
            errors.at(
                *span,
                format!("`{rule}` has `min` larger than `max`; no value could pass"),
            );
        }
    }
    let mut regex_bounded = false;
    if let Some(lit) = &rules.regex {
        match grammar::regex::check(&lit.value()) {
            Ok(info) => regex_bounded = info.bounded,
            Err(msg) => {
                errors.spanned(lit, msg);
                // One error per mistake: do not also call the field unbounded.
                regex_bounded = true;
            }
        }
    }
    if let Some(url) = &rules.url {
        let mut dangerous = false;
        for (scheme, &span) in url.schemes.iter().zip(&url.scheme_spans) {
            let ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
            if !ok {
                errors.at(span, format!("`{scheme}` is not a URL scheme; write it lowercase without `:`, e.g. \"https\""));
            }
            if let Some((_, risk)) = DANGEROUS_SCHEMES.iter().find(|(s, _)| s == scheme) {
                dangerous = true;
                if url.allow_dangerous.is_none() {
                    errors.at(
                        span,
                        format!("`{scheme}:` URLs {risk}; a URL a client, browser or model may follow must not use it. Remove it (e.g. `schemes = [\"https\"]`), or if this tool truly needs it, add `allow_dangerous_schemes` to `url(...)`, which the tool's schema and the manifest then show"),
                    );
                }
            }
        }
        if let (Some(span), false) = (url.allow_dangerous, dangerous) {
            errors.at(
                span,
                "`allow_dangerous_schemes` allows nothing here: no listed scheme is dangerous; remove it",
            );
        }
    }
    if let Some((span, values)) = &rules.one_of {
        let mut seen = std::collections::HashSet::new();
        for v in values {
            if !seen.insert(v) {
                errors.at(*span, format!("\"{v}\" is listed twice in `one_of`"));
            }
        }
    }
    match (&rules.items, &rules.each, shape) {
        (Some((span, ..)), _, s) | (None, Some((span, _)), s) if !matches!(s, Shape::Vec(_)) => {
            let rule = if rules.items.is_some() { ITEMS } else { EACH };
            errors.at(
                *span,
                format!("`{rule}` applies to `Vec` fields, but {what} {desc}"),
            );
        }
        _ => {}
    }
    match (&rules.path, shape) {
        (Some((span, _)), s) if !matches!(s, Shape::SafePath) => errors.at(
            *span,
            format!("`path` applies to `SafePath` fields, but {what} {desc}; declare it as `mcp_secure::validate::SafePath`"),
        ),
        (Some((span, within)), _) if within.value().is_empty() => errors.at(*span, "name the root: `path(within = \"files\")`"),
        (None, Shape::SafePath) if !unbounded => errors.spanned(
            ty,
            format!("{what} a `SafePath` with no root: add `#[mcp(path(within = \"files\"))]` and register that root at start-up"),
        ),
        _ => {}
    }
    if unbounded {
        return;
    }
    match shape {
        Shape::Str => {
            let bounded = rules.length.as_ref().is_some_and(|(_, _, max)| max.is_some())
                || rules.one_of.is_some()
                || rules.email.is_some()
                || rules.url.is_some()
                || regex_bounded;
            if !bounded {
                let fix = if element { "`each(length(max = N))`" } else { "`#[mcp(length(max = N))]`" };
                errors.spanned(
                    ty,
                    format!(
                        "{what} `String` with no length bound: add {fix} (or `one_of`, `email`, `url`, or an anchored `regex` of bounded length), or mark the field `#[mcp(unbounded)]` if any length is fine"
                    ),
                );
            }
        }
        Shape::Json => errors.spanned(
            ty,
            format!("{what} `serde_json::Value`, which accepts any JSON and checks nothing: declare a `SecureInput` type for it, or mark the field `#[mcp(unbounded)]` to accept it as is"),
        ),
        Shape::Vec(elem) => {
            if !rules.items.as_ref().is_some_and(|(_, _, max)| max.is_some()) {
                errors.spanned(
                    ty,
                    format!("{what} a list with no limit on its length: add `#[mcp(items(max = N))]`, or mark the field `#[mcp(unbounded)]`"),
                );
            }
            let each = rules.each.as_ref().map(|(_, r)| r.as_ref().clone()).unwrap_or_default();
            check_rules(elem, &each, element_type(ty).unwrap_or(ty), name, false, true, errors);
        }
        _ => {}
    }
}

/// A field named like a secret (`password`, `api_key`, `authToken`, ...) must have a secret
/// type, unless marked `not_secret`.
fn check_secret_name(field: &ParsedField, shape: &Shape, errors: &mut Errors) {
    let mut inner = shape;
    while let Shape::Option(s) | Shape::Vec(s) = inner {
        inner = s;
    }
    if matches!(inner, Shape::Secret) || field.rules.not_secret.is_some() {
        return;
    }
    let name = field.ident.to_string();
    if let Some(word) = secret_word(&name) {
        errors.spanned(
            &field.ty,
            format!(
                "`{name}` looks like a secret ({word}) but is {}: declare it `mcp_secure::secret::SecretString` (redacted, zeroed on drop, never serialized), or mark it `#[mcp(not_secret)]` if it is not a secret",
                shape.describe()
            ),
        );
    }
}

/// A field named like a file path (`path`, `log_file`, `outDir`, ...) whose type holds text
/// (`String`, `PathBuf`, `OsString`, ...) is refused: a tool would open it with `std::fs`,
/// anywhere. It is a `SafePath`, opened beneath a root, unless `not_a_path = "why"` says
/// otherwise.
pub fn check_path_name(name: &Ident, ty: &Type, not_a_path: Option<&LitStr>, errors: &mut Errors) {
    let text = name.to_string();
    match (path_word(&text), is_path_text(ty), not_a_path) {
        (Some(word), true, None) => errors.spanned(
            ty,
            format!(
                "`{text}` is named like a file path ({word}) but holds text, which a tool would open anywhere: declare it `mcp_secure::validate::SafePath` with `#[mcp(path(within = \"files\"))]` (opened beneath that root), or, if it names no file, mark it `#[mcp(not_a_path = \"why\")]`"
            ),
        ),
        (Some(_), true, Some(_)) => {}
        (_, _, Some(why)) => errors.spanned(
            why,
            format!("`{text}` does not look like a path held as text: remove `not_a_path`"),
        ),
        _ => {}
    }
}

/// The word that makes `name` look like a file path, case- and separator-insensitively: its
/// last word, or its last two run together (`file_name`).
pub fn path_word(name: &str) -> Option<&'static str> {
    const WORDS: &[&str] = &[
        "path",
        "file",
        "filename",
        "filepath",
        "pathname",
        "dir",
        "dirname",
        "dirpath",
        "directory",
        "folder",
    ];
    let words = split_words(name);
    let last = words.last()?;
    let last_two = words[words.len().saturating_sub(2)..].concat();
    WORDS
        .iter()
        .find(|w| **w == last || **w == last_two)
        .copied()
}

/// Whether `ty` holds text a tool could open as a path: `String`, `str`, `Cow<str>`,
/// `PathBuf`, `Path`, `OsString`, `OsStr`, behind references, `Box`/`Rc`/`Arc`, in an `Option`
/// or a `Vec`.
pub fn is_path_text(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_path_text(&r.elem),
        Type::Paren(p) => is_path_text(&p.elem),
        Type::Group(g) => is_path_text(&g.elem),
        Type::Slice(s) => is_path_text(&s.elem),
        Type::Array(a) => is_path_text(&a.elem),
        Type::Path(tp) if tp.qself.is_none() => {
            let Some(last) = tp.path.segments.last() else {
                return false;
            };
            let args = || match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            match last.ident.to_string().as_str() {
                "String" | "str" | "PathBuf" | "Path" | "OsString" | "OsStr" => true,
                "Option" | "Vec" | "Box" | "Rc" | "Arc" | "Cow" => {
                    args().into_iter().any(is_path_text)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// `name`'s words, lowercase: split at `_`, `-` and where a capital follows a lowercase letter
/// or a digit (`outDir`; `SRC_PATH` is two words).
fn split_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.trim_start_matches("r#").chars() {
        let boundary = c == '_' || c == '-' || (c.is_uppercase() && prev_lower);
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        if c != '_' && c != '-' {
            current.extend(c.to_lowercase());
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The word that makes `name` look like a secret, case- and separator-insensitively.
pub fn secret_word(name: &str) -> Option<&'static str> {
    let words = split_words(name);
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "credentials",
        "auth",
        "apikey",
        "privatekey",
    ];
    if let Some(w) = WORDS.iter().find(|w| words.iter().any(|word| word == *w)) {
        return Some(w);
    }
    let joined = words.concat();
    ["apikey", "privatekey", "clientsecret", "password", "passwd"]
        .into_iter()
        .find(|w| joined.contains(w))
}

/// `T` of `Vec<T>` or `Option<Vec<T>>`, to point errors about elements at the element type.
fn element_type(ty: &Type) -> Option<&Type> {
    let (head, arg) = head_and_arg(ty)?;
    if head == "Option" {
        element_type(arg?)
    } else {
        arg
    }
}

pub fn int_bounds(ty: &str) -> (i128, i128) {
    match ty {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "usize" => (0, u64::MAX.into()),
        "u128" => (0, i128::MAX),
        _ => (i128::MIN, i128::MAX),
    }
}

pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_path_text, path_word, secret_word};

    #[test]
    fn path_names() {
        for name in [
            "path",
            "Path",
            "file",
            "filename",
            "file_name",
            "fileName",
            "dir",
            "directory",
            "folder",
            "src_path",
            "log_file",
            "out_dir",
            "outDir",
            "SRC_PATH",
            "base_directory",
            "output_folder",
            "dir_path",
            "r#path",
        ] {
            assert!(path_word(name).is_some(), "{name}");
        }
        for name in [
            "profile",
            "filter",
            "file_count",
            "file_id",
            "pathology",
            "dirty",
            "title",
            "directory_id",
            "folders_total",
            "name",
        ] {
            assert!(path_word(name).is_none(), "{name}");
        }
    }

    #[test]
    fn path_text_types() {
        for ty in [
            "String",
            "&str",
            "&'a str",
            "std::borrow::Cow<'a, str>",
            "PathBuf",
            "std::path::PathBuf",
            "&Path",
            "OsString",
            "Option<String>",
            "Vec<PathBuf>",
            "Option<Vec<std::ffi::OsString>>",
            "Box<str>",
            "std::sync::Arc<Path>",
        ] {
            assert!(is_path_text(&syn::parse_str(ty).unwrap()), "{ty}");
        }
        for ty in [
            "u32",
            "SafePath",
            "Option<SafePath>",
            "Vec<u8>",
            "bool",
            "Notes",
        ] {
            assert!(!is_path_text(&syn::parse_str(ty).unwrap()), "{ty}");
        }
    }

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "Password",
            "user_password",
            "passwd",
            "secret",
            "client_secret",
            "token",
            "auth_token",
            "accessToken",
            "api_key",
            "apiKey",
            "APIKEY",
            "api-key",
            "private_key",
            "privateKey",
            "credentials",
            "credential",
            "auth",
        ] {
            assert!(secret_word(name).is_some(), "{name}");
        }
        for name in [
            "author",
            "authority",
            "max_tokens",
            "title",
            "body",
            "tokenizer",
            "secretary",
            "keyword",
            "passage",
        ] {
            assert!(secret_word(name).is_none(), "{name}");
        }
    }
}
