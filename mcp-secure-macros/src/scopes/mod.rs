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
    match check::check(&parsed) {
        Ok(model) => emit::emit(&model),
        Err(e) => e.into_compile_error(),
    }
}

pub use check::doc_text;
