//! `html!`: parse → check (scan the template for each placeholder's context) → emit code that
//! escapes each value for its context.

pub mod scan;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::{
    ctxt::Errors,
    template::{Args, Input},
};
use scan::{Context, Piece};

pub fn expand(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<Input>(input) {
        Ok(input) => input,
        Err(e) => return e.into_compile_error(),
    };
    let mut errors = Errors::default();
    let Some(lit) = input.literal(
        &mut errors,
        "html! takes a string literal as its template: a `String`, `format!` or `concat!` could carry a caller's text into the markup unescaped; write the markup as one literal and pass values as {placeholders}",
    ) else {
        return fallback_with(errors);
    };
    let pieces = match scan::scan(&lit.value()) {
        Ok(pieces) => pieces,
        Err(msg) => {
            errors.spanned(&lit, msg);
            return fallback_with(errors);
        }
    };
    let mut args = Args::new(&input, &lit);
    let mut capacity = 0;
    let mut writes = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => {
                capacity += text.len();
                writes.push(quote!(__html.push_str(#text);));
            }
            Piece::Placeholder { expr, context } => {
                let Some((value, span)) = args.resolve(&expr, &mut errors) else {
                    continue;
                };
                let write = match context {
                    Context::Text => quote!(text),
                    Context::Attr => quote!(attr),
                    Context::Url => quote!(url),
                    Context::UrlPart => quote!(url_part),
                };
                // Spanned at the placeholder's source, so a type that does not fit the
                // context is reported there.
                writes.push(quote_spanned!(span=>
                    ::mcp_secure::__private::html::#write(&mut __html, &(#value));
                ));
            }
        }
    }
    args.finish(&mut errors);
    if !errors.is_empty() {
        return fallback_with(errors);
    }
    quote!({
        let mut __html = ::std::string::String::with_capacity(#capacity);
        #(#writes)*
        ::mcp_secure::__private::html::finish(__html)
    })
}

/// The errors, and an expression of the right type so that the code around stays checkable.
fn fallback_with(errors: Errors) -> TokenStream {
    let error = match errors.into_result() {
        Err(e) => e.into_compile_error(),
        Ok(()) => TokenStream::new(),
    };
    quote!({ #error; ::mcp_secure::__private::html::finish(::std::string::String::new()) })
}
