//! `sql!` and `#[derive(SqlIdent)]`: parse → check (scan the template, parse it as SQL, check
//! the owned tables) → emit.

pub mod check;
pub mod owners;
pub mod scan;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::LitStr;

use crate::{
    ctxt::Errors,
    template::{self, Args},
};
use scan::Piece;

pub fn expand(input: TokenStream) -> TokenStream {
    template::expand(
        input,
        "sql! takes a string literal as its template: a `String`, `format!` or `concat!` could carry text from a caller into the SQL; write the query as one literal and pass values as {placeholders}",
        scan::scan,
        quote!(::mcp_secure::sql::Sql::default()),
        emit,
    )
}

/// The query: a template as an associated constant (so its text can only be compile-time
/// text), rendered here for every dialect when its placeholders are all values; and the values,
/// identifiers and lists that fill it, in order.
fn emit(pieces: Vec<Piece>, args: &mut Args<'_>, errors: &mut Errors) -> TokenStream {
    let p = quote!(::mcp_secure::__private::sql);
    // `all_owners = &every`: the capability a tool is granted to query every owner's rows.
    let all_owners = args.take(crate::symbol::ALL_OWNERS).map(|(value, span)| {
        quote_spanned!(span=> let _ = ::mcp_secure::__private::sql::all_owners(#value);)
    });
    let (owned, manifest) = match owners::of_this_crate() {
        Ok(found) => found,
        Err(e) => {
            errors.spanned(args.literal(), e);
            return TokenStream::new();
        }
    };
    let owned = if all_owners.is_some() {
        owners::OwnedTables::default()
    } else {
        owned
    };
    let checked = match check::check(&pieces, &owned) {
        Ok(checked) => checked,
        Err(e) => {
            errors.spanned(args.literal(), e);
            return TokenStream::new();
        }
    };
    // Editing the declaration recompiles the queries it governs.
    let manifest = manifest.map(|path| {
        let path = path.to_string_lossy().into_owned();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        )
    });
    let dynamic = pieces.iter().any(|p| {
        matches!(p, Piece::Placeholder { modifier: Some(m), .. } if m == "ident" || m == "list")
    });
    let mut slots = Vec::new();
    let mut fills = Vec::new();
    let mut n = 0;
    // Whether every owner and tenant placeholder was given the caller being served.
    let callers = Ident::new("__mcp_callers", Span::mixed_site());
    for piece in &pieces {
        match piece {
            Piece::Text(text) => slots.push(quote!(#p::SqlSlot::Text(#text))),
            Piece::Placeholder { expr, modifier, .. } => {
                n += 1;
                let Some((value, span)) = args.resolve(expr, errors) else {
                    continue;
                };
                if let Some(key) = checked.owner_slots.get(&n) {
                    // Compared with, or stored in, an owner or tenant column: only the caller
                    // fits, bound as its id or its tenant's key.
                    let f = match (key, dynamic) {
                        (owners::Key::Owner, false) => quote!(owner),
                        (owners::Key::Owner, true) => quote!(owner_arg),
                        (owners::Key::Tenant, false) => quote!(tenant),
                        (owners::Key::Tenant, true) => quote!(tenant_arg),
                    };
                    slots.push(quote!(#p::SqlSlot::Value));
                    fills.push(quote_spanned!(span=> #p::#f(&(#value), &mut #callers)));
                    continue;
                }
                // Spanned at the placeholder's source, so a type error points there.
                let (slot, fill) = match modifier.as_deref() {
                    Some("ident") => (
                        quote!(#p::SqlSlot::Ident),
                        quote_spanned!(span=> ::mcp_secure::__private::sql::ident(&(#value))),
                    ),
                    Some("list") => (
                        quote!(#p::SqlSlot::List),
                        quote_spanned!(span=> ::mcp_secure::__private::sql::list(&(#value))),
                    ),
                    _ if dynamic => (
                        quote!(#p::SqlSlot::Value),
                        quote_spanned!(span=> ::mcp_secure::__private::sql::arg(&(#value))),
                    ),
                    _ => (
                        quote!(#p::SqlSlot::Value),
                        quote_spanned!(span=> ::mcp_secure::__private::sql::param(&(#value))),
                    ),
                };
                slots.push(slot);
                fills.push(fill);
            }
        }
    }
    let [sqlite, postgres, mysql] = if dynamic {
        Default::default()
    } else {
        render(&pieces)
    };
    let template = Ident::new("__McpSqlTemplate", Span::mixed_site());
    let build = if dynamic {
        quote!(#p::assemble::<#template>)
    } else {
        quote!(#p::template::<#template>)
    };
    let built = quote!(#build(::std::vec![#(#fills),*]));
    // In a crate with owned tables, the query says what it is (a checked statement, or a
    // condition), and whether each owner or tenant placeholder was given the caller.
    let built = match checked.shape {
        check::Shape::Free => built,
        check::Shape::Statement => quote!({
            let mut #callers = true;
            let __mcp_sql = #built;
            #p::governed(__mcp_sql, #p::Shape::Statement, #callers)
        }),
        check::Shape::Condition => quote!(#p::governed(#built, #p::Shape::Condition, true)),
    };
    quote!({
        #manifest
        #all_owners
        struct #template;
        impl #p::Template for #template {
            const TEMPLATE: &'static #p::SqlTemplate = &#p::SqlTemplate {
                slots: &[#(#slots),*],
                text: [#sqlite, #postgres, #mysql],
            };
        }
        #built
    })
}

/// A template with value placeholders only, as SQLite (`?1`), PostgreSQL (`$1`) and MySQL
/// (`?`) write it; the same text `Sql` renders at run time from the same pieces.
fn render(pieces: &[Piece]) -> [String; 3] {
    let mut out: [String; 3] = Default::default();
    let mut n = 0;
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.iter_mut().for_each(|o| o.push_str(text)),
            Piece::Placeholder { .. } => {
                n += 1;
                out[0].push_str(&format!("?{n}"));
                out[1].push_str(&format!("${n}"));
                out[2].push('?');
            }
        }
    }
    out
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
    let mut names = Vec::new();
    let mut arms = Vec::new();
    for (index, v) in data.variants.iter().enumerate() {
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
        arms.push(quote!(Self::#ident => #index));
        names.push(text);
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
        impl ::mcp_secure::__private::sql::DerivedSqlIdent for #ident {}

        #[automatically_derived]
        impl ::mcp_secure::sql::SqlIdent for #ident {
            const __NAMES: &'static [&'static str] = &[#(#names),*];

            fn __index(&self) -> usize {
                match self {
                    #(#arms,)*
                }
            }
        }
    }
}
