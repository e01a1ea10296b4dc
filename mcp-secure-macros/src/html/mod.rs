//! `html!`: parse → check (scan the template for each placeholder's context) → emit code that
//! escapes each value for its context.

pub mod scan;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::template;
use scan::{Context, Piece};

pub fn expand(input: TokenStream) -> TokenStream {
    template::expand(
        input,
        "html! takes a string literal as its template: a `String`, `format!` or `concat!` could carry a caller's text into the markup unescaped; write the markup as one literal and pass values as {placeholders}",
        scan::scan,
        quote!(::mcp_secure::__private::html::finish(
            ::std::string::String::new()
        )),
        |pieces, args, errors| {
            let mut capacity = 0;
            let mut writes = Vec::new();
            for piece in pieces {
                match piece {
                    Piece::Text(text) => {
                        capacity += text.len();
                        writes.push(quote!(__html.push_str(#text);));
                    }
                    Piece::Placeholder { expr, context } => {
                        let Some((value, span)) = args.resolve(&expr, errors) else {
                            continue;
                        };
                        let write = match context {
                            Context::Text => quote!(text),
                            Context::Attr => quote!(attr),
                            Context::Url => quote!(url),
                            Context::UrlPart => quote!(url_part),
                        };
                        // Spanned at the placeholder's source, so a type that does not fit
                        // the context is reported there.
                        writes.push(quote_spanned!(span=>
                            ::mcp_secure::__private::html::#write(&mut __html, &(#value));
                        ));
                    }
                }
            }
            quote!({
                let mut __html = ::std::string::String::with_capacity(#capacity);
                #(#writes)*
                ::mcp_secure::__private::html::finish(__html)
            })
        },
    )
}
