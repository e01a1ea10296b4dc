use syn::{
    Attribute, LitStr, Token, bracketed,
    parse::{Parse, ParseStream},
    punctuated::Punctuated,
};

use crate::symbol::IMPLIES;

pub struct Input {
    pub entries: Punctuated<Entry, Token![,]>,
}

pub struct Entry {
    pub attrs: Vec<Attribute>,
    pub scope: LitStr,
    pub implies: Vec<LitStr>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(Input {
            entries: Punctuated::parse_terminated(input)?,
        })
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let scope: LitStr = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a scope string, e.g. \"notes:read\" or \"notes:write\" => implies [\"notes:read\"]")
        })?;
        let mut implies = Vec::new();
        if input.peek(Token![=>]) {
            input.parse::<Token![=>]>()?;
            let keyword: syn::Ident = input.parse()?;
            if keyword != IMPLIES {
                return Err(syn::Error::new(
                    keyword.span(),
                    "expected `implies [\"scope\", ...]` after `=>`",
                ));
            }
            let content;
            bracketed!(content in input);
            let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
            implies = list.into_iter().collect();
        }
        Ok(Entry {
            attrs,
            scope,
            implies,
        })
    }
}
