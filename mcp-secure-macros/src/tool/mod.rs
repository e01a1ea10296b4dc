//! `#[mcp_tools]` on an impl block and `#[mcp_tool]` on its methods: parse → check → emit.

mod check;
mod emit;
mod model;
mod syntax;

use proc_macro2::TokenStream;
use quote::quote;

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item = match syn::parse2::<syn::ItemImpl>(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let mut out = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[mcp_tools]` goes on an `impl` block whose methods are marked `#[mcp_tool(...)]`",
            )
            .into_compile_error();
            out.extend(input);
            return out;
        }
    };
    let router = syntax::router_name(args.clone());
    let parsed = syntax::parse(args, &mut item);
    match parsed.and_then(|parsed| check::check(&item, parsed)) {
        Ok(model) => emit::emit(&item, &model),
        Err(e) => {
            // Keep the impl (with our attributes removed) and stand-ins for the generated
            // functions, so that the errors shown are the real ones and no follow-on.
            let (router, policies) = check::names(router);
            let mut out = e.into_compile_error();
            out.extend(quote!(#item));
            out.extend(emit::fallback(&item, &router, &policies));
            out
        }
    }
}

pub fn outside_impl(args: TokenStream, input: TokenStream) -> TokenStream {
    let _ = args;
    let mut out = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[mcp_tool]` only works on a method inside an `impl` block marked `#[mcp_tools]`: add `#[mcp_tools]` to the enclosing `impl`",
    )
    .into_compile_error();
    out.extend(input);
    out
}
