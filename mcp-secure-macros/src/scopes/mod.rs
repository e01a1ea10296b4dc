//! `scopes! { ... }`: parse → check → emit.

mod check;
mod emit;
mod syntax;

use proc_macro2::TokenStream;

pub fn expand(input: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<syntax::Input>(input) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_compile_error(),
    };
    let (model, errors) = check::check(&parsed);
    let mut out = emit::emit(&model);
    if let Err(e) = errors.into_result() {
        out.extend(e.into_compile_error());
    }
    out
}

pub use check::doc_text;

/// `(literal, "declared list")` → an error at the literal.
pub fn undeclared(input: TokenStream) -> TokenStream {
    let parser = |input: syn::parse::ParseStream| -> syn::Result<(syn::LitStr, syn::LitStr)> {
        let scope = input.parse()?;
        input.parse::<syn::Token![,]>()?;
        Ok((scope, input.parse()?))
    };
    match syn::parse::Parser::parse2(parser, input) {
        Ok((scope, declared)) => syn::Error::new(
            scope.span(),
            format!(
                "scope `{}` is not declared in `mcp_secure::scopes!` (declared: {}); declare it there or fix the spelling",
                scope.value(),
                declared.value()
            ),
        )
        .into_compile_error(),
        Err(e) => e.into_compile_error(),
    }
}
