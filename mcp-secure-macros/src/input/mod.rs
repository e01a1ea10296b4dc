//! `#[derive(SecureInput)]`: parse → check → emit.

mod check;

pub use check::{check_path_name, snake_case};
mod emit;
pub mod model;
mod syntax;

pub use syntax::{distance, parse_attrs};

use proc_macro2::TokenStream;

pub fn expand(input: TokenStream) -> TokenStream {
    let derive = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(d) => d,
        Err(e) => return e.into_compile_error(),
    };
    match syntax::parse(&derive).and_then(|parsed| check::check(&derive, parsed)) {
        Ok(model) => emit::emit(&model),
        Err(e) => {
            // Still implement the traits, so that uses of the type report no follow-on errors.
            let mut out = e.into_compile_error();
            out.extend(emit::fallback(&derive));
            out
        }
    }
}
