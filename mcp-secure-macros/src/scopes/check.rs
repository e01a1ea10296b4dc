use std::collections::{BTreeMap, BTreeSet};

use super::syntax::Input;
use crate::{ctxt::Errors, grammar::check_scope};

pub struct Scope {
    pub name: String,
    pub description: String,
    /// Transitive closure, without the scope itself.
    pub implies: Vec<String>,
}

pub struct Model {
    pub scopes: Vec<Scope>,
}

/// The model of every scope that could be read, and the mistakes found: with mistakes, the
/// model is still emitted, so that tools naming a declared scope report nothing more.
pub fn check(input: &Input) -> (Model, Errors) {
    let mut errors = Errors::default();
    let mut direct: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order = Vec::new();
    for entry in &input.entries {
        let name = entry.scope.value();
        if let Err(msg) = check_scope(&name) {
            errors.spanned(&entry.scope, msg);
        }
        if direct.contains_key(&name) {
            errors.spanned(
                &entry.scope,
                format!("scope `{name}` is declared twice; remove one"),
            );
            continue;
        }
        order.push((name.clone(), doc_text(&entry.attrs)));
        direct.insert(name, entry.implies.iter().map(|l| l.value()).collect());
    }
    let known: BTreeSet<String> = direct.keys().cloned().collect();
    for entry in &input.entries {
        for implied in &entry.implies {
            let value = implied.value();
            if !direct.contains_key(&value) {
                let hint = direct
                    .keys()
                    .map(|d| (crate::input::distance(&value, d), d))
                    .filter(|(n, _)| *n <= 2)
                    .min()
                    .map_or_else(
                        || {
                            format!(
                                "declare `{value}` in this `scopes!` too, or imply a declared scope"
                            )
                        },
                        |(_, d)| format!("did you mean `{d}`?"),
                    );
                errors.spanned(
                    implied,
                    format!("`{value}` is not declared in this `scopes!`: {hint}"),
                );
            } else if value == entry.scope.value() {
                errors.spanned(
                    implied,
                    "a scope always grants itself; remove it from `implies`",
                );
            }
        }
    }
    let mut scopes = Vec::new();
    for (name, description) in order {
        let closure = closure(&name, &direct);
        if closure.contains(&name) {
            let entry = input
                .entries
                .iter()
                .find(|e| e.scope.value() == name)
                .expect("declared");
            errors.spanned(
                &entry.scope,
                format!(
                    "scope `{name}` implies itself through a cycle; remove one of the implications"
                ),
            );
        }
        scopes.push(Scope {
            // An undeclared implication is reported above; it grants nothing.
            implies: closure
                .into_iter()
                .filter(|s| *s != name && known.contains(s))
                .collect(),
            name,
            description,
        });
    }
    if input.entries.is_empty() {
        errors.at(
            proc_macro2::Span::call_site(),
            "declare at least one scope, e.g. `scopes! { \"notes:read\" }`",
        );
    }
    (Model { scopes }, errors)
}

fn closure(start: &str, direct: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = direct
        .get(start)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    while let Some(next) = stack.pop() {
        if seen.insert(next.to_owned()) {
            stack.extend(direct.get(next).into_iter().flatten().map(String::as_str));
        }
    }
    seen
}

/// The text of `///` comments, lines trimmed and joined with spaces (paragraphs with newlines).
pub fn doc_text(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            lines.push(s.value().trim().to_owned());
        }
    }
    let mut text = String::new();
    for line in lines {
        if line.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
        } else {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push(' ');
            }
            text.push_str(&line);
        }
    }
    text.trim().to_owned()
}
