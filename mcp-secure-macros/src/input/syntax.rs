use proc_macro2::Span;
use syn::{
    Attribute, Data, DeriveInput, Expr, Fields, Ident, Lit, LitStr, Token, Type, UnOp,
    meta::ParseNestedMeta, spanned::Spanned,
};

use super::model::{Num, Rules, UrlRule};
use crate::{ctxt::Errors, scopes::doc_text, symbol::*};

pub struct ParsedField {
    pub ident: Ident,
    pub ty: Type,
    pub rules: Rules,
    pub doc: String,
}

pub enum Parsed {
    Struct(Vec<ParsedField>),
    Allowlist(Vec<Ident>),
}

pub fn parse(input: &DeriveInput) -> syn::Result<Parsed> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "`SecureInput` types cannot be generic; give each input its own concrete type",
        );
    }
    if let Some(attr) = input.attrs.iter().find(|a| a.path().is_ident("serde")) {
        errors.spanned(attr, "`SecureInput` generates the deserializer; remove `#[serde(...)]` (unknown fields are already refused)");
    }
    let parsed = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => {
                let mut fields = Vec::new();
                for f in &named.named {
                    if let Some(attr) = f.attrs.iter().find(|a| a.path().is_ident("serde")) {
                        errors.spanned(attr, "`SecureInput` generates the deserializer; remove `#[serde(...)]` from the field");
                    }
                    fields.push(ParsedField {
                        ident: f.ident.clone().expect("named field"),
                        ty: f.ty.clone(),
                        rules: parse_attrs(&f.attrs, &mut errors),
                        doc: doc_text(&f.attrs),
                    });
                }
                Parsed::Struct(fields)
            }
            _ => {
                errors.spanned(
                    &input.ident,
                    "`SecureInput` needs named fields (`struct Input { field: Type }`): a tool's arguments are a JSON object",
                );
                Parsed::Struct(Vec::new())
            }
        },
        Data::Enum(e) => {
            let mut variants = Vec::new();
            for v in &e.variants {
                if !matches!(v.fields, Fields::Unit) {
                    errors.spanned(v, "a `SecureInput` enum is an allowlist of names: its variants cannot carry data");
                }
                variants.push(v.ident.clone());
            }
            if variants.is_empty() {
                errors.spanned(&input.ident, "an allowlist enum needs at least one variant");
            }
            Parsed::Allowlist(variants)
        }
        Data::Union(u) => {
            errors.spanned(
                u.union_token,
                "`SecureInput` cannot be derived for a union; use a struct",
            );
            Parsed::Struct(Vec::new())
        }
    };
    errors.into_result()?;
    Ok(parsed)
}

/// The rules of every `#[mcp(...)]` attribute in `attrs`; errors are collected, not returned.
pub fn parse_attrs(attrs: &[Attribute], errors: &mut Errors) -> Rules {
    let mut rules = Rules::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(MCP)) {
        if let Err(e) = attr.parse_nested_meta(|meta| parse_rule(meta, &mut rules, errors)) {
            errors.push(e);
        }
    }
    rules
}

fn parse_rule(meta: ParseNestedMeta, rules: &mut Rules, errors: &mut Errors) -> syn::Result<()> {
    let span = meta.path.span();
    let Some(ident) = meta.path.get_ident().map(Ident::to_string) else {
        return Err(meta.error(format!("expected a rule name; the rules are: {RULES}")));
    };
    let twice = |e: &mut Errors| e.at(span, format!("`{ident}` is given twice; keep one"));
    match ident.as_str() {
        LENGTH | ITEMS => {
            let (min, max) = min_max_u64(&meta, &ident)?;
            let slot = if ident == LENGTH {
                &mut rules.length
            } else {
                &mut rules.items
            };
            if slot.is_some() {
                twice(errors);
            }
            *slot = Some((span, min, max));
        }
        RANGE => {
            let (mut min, mut max) = (None, None);
            meta.parse_nested_meta(|m| {
                let value = number(&m.value()?.parse::<Expr>()?)?;
                if m.path.is_ident(MIN) {
                    min = Some(value);
                } else if m.path.is_ident(MAX) {
                    max = Some(value);
                } else {
                    return Err(m.error("expected `min = N` or `max = N`"));
                }
                Ok(())
            })?;
            if min.is_none() && max.is_none() {
                return Err(syn::Error::new(
                    span,
                    "`range` needs a bound: `range(min = 1, max = 100)`",
                ));
            }
            if rules.range.is_some() {
                twice(errors);
            }
            rules.range = Some((span, min, max));
        }
        REGEX => {
            if rules.regex.is_some() {
                twice(errors);
            }
            rules.regex = Some(meta.value()?.parse::<LitStr>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a string literal: `regex = r\"^[a-z]+$\"`",
                )
            })?);
        }
        EMAIL => flag(&mut rules.email, span, errors, &ident),
        NO_CONTROL => flag(&mut rules.no_control, span, errors, &ident),
        UNBOUNDED => flag(&mut rules.unbounded, span, errors, &ident),
        NOT_SECRET => flag(&mut rules.not_secret, span, errors, &ident),
        NOT_A_PATH => {
            let why = meta
                .value()
                .and_then(|v| v.parse::<LitStr>())
                .map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "say why this is not a path: `not_a_path = \"a URL path, never opened\"`",
                    )
                })?;
            if why.value().trim().is_empty() {
                errors.spanned(
                    &why,
                    "say why this is not a path: `not_a_path = \"a URL path, never opened\"`",
                );
            }
            if rules.not_a_path.is_some() {
                twice(errors);
            }
            rules.not_a_path = Some(why);
        }
        URL => {
            let mut rule = UrlRule {
                span,
                schemes: Vec::new(),
                scheme_spans: Vec::new(),
                allow_private: false,
                allow_dangerous: None,
            };
            if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|m| {
                    if m.path.is_ident(SCHEMES) {
                        let list = string_list(&m.value()?.parse::<Expr>()?)?;
                        rule.scheme_spans = list.iter().map(LitStr::span).collect();
                        rule.schemes = list.iter().map(LitStr::value).collect();
                        if rule.schemes.is_empty() {
                            return Err(
                                m.error("list at least one scheme: `schemes = [\"https\"]`")
                            );
                        }
                    } else if m.path.is_ident(ALLOW_PRIVATE) {
                        rule.allow_private = true;
                    } else if m.path.is_ident(ALLOW_DANGEROUS_SCHEMES) {
                        rule.allow_dangerous = Some(m.path.span());
                    } else {
                        return Err(m.error(
                            "expected `schemes = [\"https\"]`, `allow_private` or `allow_dangerous_schemes`",
                        ));
                    }
                    Ok(())
                })?;
            }
            if rule.schemes.is_empty() {
                rule.schemes.push("https".into());
                rule.scheme_spans.push(span);
            }
            if rules.url.is_some() {
                twice(errors);
            }
            rules.url = Some(rule);
        }
        ONE_OF => {
            let list = string_list(&meta.value()?.parse::<Expr>()?)?;
            if list.is_empty() {
                return Err(syn::Error::new(
                    span,
                    "`one_of` needs at least one value: `one_of = [\"a\", \"b\"]`",
                ));
            }
            if rules.one_of.is_some() {
                twice(errors);
            }
            rules.one_of = Some((span, list.into_iter().map(|s| s.value()).collect()));
        }
        EACH => {
            let mut inner = Rules::default();
            meta.parse_nested_meta(|m| parse_rule(m, &mut inner, errors))?;
            if rules.each.is_some() {
                twice(errors);
            }
            rules.each = Some((span, Box::new(inner)));
        }
        PATH => {
            let mut within = None;
            meta.parse_nested_meta(|m| {
                if m.path.is_ident(WITHIN) {
                    within = Some(m.value()?.parse::<LitStr>()?);
                    Ok(())
                } else {
                    Err(m.error("expected `within = \"root name\"`"))
                }
            })?;
            let Some(within) = within else {
                return Err(syn::Error::new(
                    span,
                    "`path` needs its root: `path(within = \"files\")`",
                ));
            };
            rules.path = Some((span, within));
        }
        other => {
            let hint = suggest(other)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            errors.at(
                span,
                format!("unknown rule `{other}`{hint}; the rules are: {RULES}"),
            );
            skip_value(&meta)?;
        }
    }
    Ok(())
}

fn flag(slot: &mut Option<Span>, span: Span, errors: &mut Errors, ident: &str) {
    if slot.is_some() {
        errors.at(span, format!("`{ident}` is given twice; keep one"));
    }
    *slot = Some(span);
}

fn min_max_u64(meta: &ParseNestedMeta, rule: &str) -> syn::Result<(Option<u64>, Option<u64>)> {
    let (mut min, mut max) = (None, None);
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{rule}` needs bounds: `{rule}(min = 1, max = 100)`"
        )));
    }
    meta.parse_nested_meta(|m| {
        let lit: syn::LitInt = m.value()?.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a non-negative integer, e.g. `max = 200`",
            )
        })?;
        let n = lit.base10_parse::<u64>()?;
        if m.path.is_ident(MIN) {
            min = Some(n);
        } else if m.path.is_ident(MAX) {
            max = Some(n);
        } else {
            return Err(m.error("expected `min = N` or `max = N`"));
        }
        Ok(())
    })?;
    if min.is_none() && max.is_none() {
        return Err(meta.error(format!("`{rule}` needs a bound: `{rule}(max = 100)`")));
    }
    Ok((min, max))
}

fn number(expr: &Expr) -> syn::Result<Num> {
    let err = || {
        syn::Error::new_spanned(
            expr,
            "expected a number literal, e.g. `min = 1` or `max = 0.5`",
        )
    };
    match expr {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => Ok(Num::Int(i.base10_parse()?)),
            Lit::Float(f) => Ok(Num::Float(f.base10_parse()?)),
            _ => Err(err()),
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match number(&u.expr)? {
            Num::Int(i) => Ok(Num::Int(-i)),
            Num::Float(f) => Ok(Num::Float(-f)),
        },
        _ => Err(err()),
    }
}

fn string_list(expr: &Expr) -> syn::Result<Vec<LitStr>> {
    let err = || syn::Error::new_spanned(expr, "expected a list of strings, e.g. `[\"a\", \"b\"]`");
    let Expr::Array(array) = expr else {
        return Err(err());
    };
    array
        .elems
        .iter()
        .map(|e| match e {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.clone()),
            _ => Err(err()),
        })
        .collect()
}

fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.input.parse::<Token![=]>()?;
        meta.input.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn suggest(unknown: &str) -> Option<&'static str> {
    RULES
        .split(", ")
        .map(|r| (distance(unknown, r), r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, r)| r)
}

/// The edit distance between `a` and `b`, for "did you mean" hints.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}
