//! What `sql!` and `html!` share: a string-literal template with `{placeholders}`, followed by
//! `format!`-style named arguments. Each macro scans the template for its own language; this
//! module parses the invocation and turns a placeholder into the expression it names.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;
use syn::{
    Expr, Ident, Lit, LitStr, Token,
    parse::{Parse, ParseStream},
};

use crate::ctxt::Errors;

/// `"template", name = expr, …`
pub struct Input {
    pub template: Expr,
    pub named: Vec<(Ident, Expr)>,
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

impl Input {
    /// The template literal, or an error at whatever stands in its place (a `String`, a
    /// `format!`, a `concat!`): `why` says what a non-literal template could let in.
    pub fn literal(&self, errors: &mut Errors, why: &str) -> Option<LitStr> {
        match &self.template {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.clone()),
            other => {
                errors.spanned(other, why);
                None
            }
        }
    }
}

/// The pipeline of a template macro: parse the invocation, check that the template is a string
/// literal (`not_literal` says why it must be), `scan` it, and let `emit` turn the pieces into
/// code, resolving placeholders through [`Args`]. Errors from every step are reported together,
/// followed by `fallback`: an expression of the macro's type, so that the code around stays
/// checkable.
pub fn expand<P>(
    input: TokenStream,
    not_literal: &str,
    scan: fn(&str) -> Result<Vec<P>, String>,
    fallback: TokenStream,
    emit: impl FnOnce(Vec<P>, &mut Args<'_>, &mut Errors) -> TokenStream,
) -> TokenStream {
    let input = match syn::parse2::<Input>(input) {
        Ok(input) => input,
        Err(e) => return e.into_compile_error(),
    };
    let mut errors = Errors::default();
    let failed = |errors: Errors| {
        let error = match errors.into_result() {
            Err(e) => e.into_compile_error(),
            Ok(()) => TokenStream::new(),
        };
        quote!({ #error; #fallback })
    };
    let Some(lit) = input.literal(&mut errors, not_literal) else {
        return failed(errors);
    };
    let pieces = match scan(&lit.value()) {
        Ok(pieces) => pieces,
        Err(msg) => {
            errors.spanned(&lit, msg);
            return failed(errors);
        }
    };
    let mut args = Args::new(&input, &lit);
    let code = emit(pieces, &mut args, &mut errors);
    args.finish(&mut errors);
    if errors.is_empty() {
        code
    } else {
        failed(errors)
    }
}

/// Resolves placeholders to expressions and remembers which named arguments were used.
pub struct Args<'a> {
    input: &'a Input,
    lit: &'a LitStr,
    used: Vec<bool>,
}

impl<'a> Args<'a> {
    pub fn new(input: &'a Input, lit: &'a LitStr) -> Self {
        Args {
            input,
            lit,
            used: vec![false; input.named.len()],
        }
    }

    /// The expression for `{expr}` and the span its code gets: a named argument's own tokens,
    /// or the placeholder text parsed as an expression and spanned at the template (stable
    /// Rust cannot point inside a literal).
    pub fn resolve(&mut self, expr: &str, errors: &mut Errors) -> Option<(TokenStream, Span)> {
        if let Some(i) = self.input.named.iter().position(|(n, _)| n == expr) {
            self.used[i] = true;
            let e = &self.input.named[i].1;
            return Some((quote!(#e), syn::spanned::Spanned::span(e)));
        }
        match syn::parse_str::<Expr>(expr) {
            Ok(e) => Some((respan(quote!(#e), self.lit.span()), self.lit.span())),
            Err(_) => {
                errors.spanned(
                    self.lit,
                    format!("`{{{expr}}}` is not an expression; a placeholder holds a name, a field like `input.title`, or a call like `caller.subject()`"),
                );
                None
            }
        }
    }

    /// The template literal.
    pub fn literal(&self) -> &LitStr {
        self.lit
    }

    /// A named argument that is not a placeholder's (`sql!`'s `all_owners`), taken as used:
    /// its tokens and span.
    pub fn take(&mut self, name: &str) -> Option<(TokenStream, Span)> {
        let i = self.input.named.iter().position(|(n, _)| n == name)?;
        self.used[i] = true;
        let e = &self.input.named[i].1;
        Some((quote!(#e), syn::spanned::Spanned::span(e)))
    }

    /// Reports every named argument no placeholder used.
    pub fn finish(self, errors: &mut Errors) {
        for ((name, _), used) in self.input.named.iter().zip(self.used) {
            if !used {
                errors.spanned(
                    name,
                    format!(
                        "`{name}` is not used in the template; use it as {{{name}}} or remove it"
                    ),
                );
            }
        }
    }
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
