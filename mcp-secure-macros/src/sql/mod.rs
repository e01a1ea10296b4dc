//! `sql!` and `#[derive(SqlIdent)]`: parse → check (scan the template) → emit.

pub mod scan;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::{
    Expr, Ident, Lit, LitStr, Token,
    parse::{Parse, ParseStream},
};

use crate::ctxt::Errors;
use scan::Piece;

struct Input {
    template: Expr,
    named: Vec<(Ident, Expr)>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let template: Expr = input.parse()?;
        let mut named = Vec::new();
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            named.push((name, input.parse()?));
        }
        Ok(Input { template, named })
    }
}

pub fn expand(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<Input>(input) {
        Ok(input) => input,
        Err(e) => return e.into_compile_error(),
    };
    let mut errors = Errors::default();
    let lit = match &input.template {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => s.clone(),
        other => {
            errors.spanned(
                other,
                "sql! takes a string literal as its template: a `String`, `format!` or `concat!` could carry text from a caller into the SQL; write the query as one literal and pass values as {placeholders}",
            );
            return fallback(errors);
        }
    };
    let pieces = match scan::scan(&lit.value()) {
        Ok(pieces) => pieces,
        Err(msg) => {
            errors.spanned(&lit, msg);
            return fallback(errors);
        }
    };
    let mut used = vec![false; input.named.len()];
    let mut parts = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => parts.push(quote!(::mcp_secure::__private::SqlPart::Text(#text))),
            Piece::Placeholder { expr, modifier, .. } => {
                let (value, span) = match input.named.iter().position(|(n, _)| *n == expr) {
                    Some(i) => {
                        used[i] = true;
                        let e = &input.named[i].1;
                        (quote!(#e), syn::spanned::Spanned::span(e))
                    }
                    None => match syn::parse_str::<Expr>(&expr) {
                        Ok(e) => (respan(quote!(#e), lit.span()), lit.span()),
                        Err(_) => {
                            errors.spanned(&lit, format!("`{{{expr}}}` is not an expression; a placeholder holds a name, a field like `input.title`, or a call like `caller.subject()`"));
                            continue;
                        }
                    },
                };
                // Spanned at the placeholder's source, so a type error points there.
                parts.push(match modifier.as_deref() {
                    Some("ident") => {
                        quote_spanned!(span=> ::mcp_secure::__private::SqlPart::ident(&(#value)))
                    }
                    Some("list") => {
                        quote_spanned!(span=> ::mcp_secure::__private::SqlPart::list(&(#value)))
                    }
                    _ => quote_spanned!(span=> ::mcp_secure::__private::SqlPart::param(&(#value))),
                });
            }
        }
    }
    for ((name, _), used) in input.named.iter().zip(used) {
        if !used {
            errors.spanned(
                name,
                format!("`{name}` is not used in the template; use it as {{{name}}} or remove it"),
            );
        }
    }
    if let Err(e) = errors.into_result() {
        return fallback_with(e);
    }
    quote!(::mcp_secure::sql::Sql::__from_parts(
        ::std::vec![#(#parts),*]
    ))
}

/// Gives every token `span`, so that type errors in a placeholder point at the template.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let TokenTree::Group(g) = &t {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                t = TokenTree::Group(group);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

fn fallback(errors: Errors) -> TokenStream {
    match errors.into_result() {
        Err(e) => fallback_with(e),
        Ok(()) => TokenStream::new(),
    }
}

/// The error, and an expression of the right type so that the code around stays checkable.
fn fallback_with(e: syn::Error) -> TokenStream {
    let error = e.into_compile_error();
    quote!({ #error; ::mcp_secure::sql::Sql::__from_parts(::std::vec::Vec::new()) })
}

/// `#[derive(SqlIdent)]` on an enum of unit variants: each variant is an identifier, checked
/// here, its name `snake_case` or `#[sql(name = "...")]`.
pub fn derive_ident(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(i) => i,
        Err(e) => return e.into_compile_error(),
    };
    let mut errors = Errors::default();
    let syn::Data::Enum(data) = &input.data else {
        return syn::Error::new_spanned(
            &input.ident,
            "`SqlIdent` is derived on an enum of unit variants, one per identifier",
        )
        .into_compile_error();
    };
    let mut arms = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, syn::Fields::Unit) {
            errors.spanned(
                v,
                "an `SqlIdent` variant stands for one identifier: it cannot carry data",
            );
            continue;
        }
        let mut name: Option<LitStr> = None;
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("sql")) {
            if let Err(e) = attr.parse_nested_meta(|m| {
                if m.path.is_ident("name") {
                    name = Some(m.value()?.parse()?);
                    Ok(())
                } else {
                    Err(m.error("expected `name = \"column_name\"`"))
                }
            }) {
                errors.push(e);
            }
        }
        let text = name.as_ref().map_or_else(
            || crate::input::snake_case(&v.ident.to_string()),
            LitStr::value,
        );
        let valid = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && text.len() <= 63;
        if !valid {
            let msg = format!(
                "`{text}` is not a plain SQL identifier: use ASCII letters, digits and `_`, starting with a letter or `_`, at most 63 characters"
            );
            match &name {
                Some(lit) => errors.spanned(lit, msg),
                None => errors.spanned(&v.ident, msg),
            }
        }
        let ident = &v.ident;
        arms.push(quote!(Self::#ident => #text));
    }
    if data.variants.is_empty() {
        errors.spanned(
            &input.ident,
            "an `SqlIdent` enum needs at least one variant",
        );
    }
    if let Err(e) = errors.into_result() {
        return e.into_compile_error();
    }
    let ident = &input.ident;
    quote! {
        #[automatically_derived]
        impl ::mcp_secure::sql::SqlIdent for #ident {
            fn sql_ident(&self) -> &'static str {
                match self {
                    #(#arms,)*
                }
            }
        }
    }
}
