//! `#[derive(FromRow)]`: sqlx's `FromRow`, generated against the sqlx that mcp-secure runs
//! queries with (`::mcp_secure::__private::sqlx`), so that reading rows needs no direct sqlx
//! dependency, which would bring back `sqlx::query(&format!(..))`. Parse → check → emit, in one
//! file: the attributes are few.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Data, DeriveInput, Fields, LitStr, spanned::Spanned};

use crate::ctxt::Errors;

/// One field's `#[sqlx(...)]` attributes.
#[derive(Default)]
struct FieldAttrs {
    rename: Option<LitStr>,
    default: bool,
    skip: bool,
    flatten: bool,
    json: bool,
}

const ATTRS: &str = "`rename = \"column\"`, `default`, `skip`, `flatten` or `json`";

pub fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(i) => i,
        Err(e) => return e.into_compile_error(),
    };
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "`FromRow` is derived on a row type without generic parameters: read owned values (`String`, not `&str`)",
        );
    }
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("sqlx")) {
        errors.spanned(
            attr,
            format!("`#[sqlx(...)]` on the type is not supported here; on a field, write {ATTRS}"),
        );
    }
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        _ => {
            errors.spanned(
                &input.ident,
                "`FromRow` is derived on a struct: one field per column",
            );
            return fallback(&input, errors);
        }
    };
    let r = quote!(::mcp_secure::__private::sqlx);
    let lifetime = syn::Lifetime::new("'__mcp_row", Span::mixed_site());
    let row = format_ident!("__McpRow", span = Span::mixed_site());
    let value = format_ident!("__mcp_row", span = Span::mixed_site());
    let mut bounds = Vec::new();
    let mut reads = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let attrs = field_attrs(field, &mut errors);
        let ty = &field.ty;
        let column = match (&field.ident, &attrs.rename) {
            (_, Some(lit)) => quote!(#lit),
            (Some(ident), None) => {
                let name = ident.to_string().trim_start_matches("r#").to_owned();
                quote!(#name)
            }
            (None, None) => quote!(#i),
        };
        let read = if attrs.skip {
            quote_spanned!(ty.span()=> ::core::default::Default::default())
        } else if attrs.flatten {
            bounds.push(quote_spanned!(ty.span()=> #ty: #r::FromRow<#lifetime, #row>));
            quote!(<#ty as #r::FromRow<#lifetime, #row>>::from_row(#value)?)
        } else {
            let decoded = if attrs.json {
                quote!(#r::Json<#ty>)
            } else {
                quote!(#ty)
            };
            bounds.push(quote_spanned!(ty.span()=>
                #decoded: #r::Decode<#lifetime, <#row as #r::Row>::Database> + #r::Type<<#row as #r::Row>::Database>));
            let get = quote!(#r::Row::try_get::<#decoded, _>(#value, #column));
            let get = if attrs.default {
                quote!(match #get {
                    ::core::result::Result::Err(#r::Error::ColumnNotFound(_)) => ::core::default::Default::default(),
                    other => other?,
                })
            } else {
                quote!(#get?)
            };
            if attrs.json { quote!((#get).0) } else { get }
        };
        reads.push(match &field.ident {
            Some(ident) => quote!(#ident: #read),
            None => read,
        });
    }
    if !errors.is_empty() {
        return fallback(&input, errors);
    }
    let ident = &input.ident;
    let index = if matches!(fields, Fields::Unnamed(_)) {
        quote!(::core::primitive::usize)
    } else {
        quote!(&#lifetime ::core::primitive::str)
    };
    let body = match fields {
        Fields::Named(_) => quote!(Self { #(#reads,)* }),
        Fields::Unnamed(_) => quote!(Self(#(#reads,)*)),
        Fields::Unit => quote!(Self),
    };
    quote! {
        #[automatically_derived]
        impl<#lifetime, #row: #r::Row> #r::FromRow<#lifetime, #row> for #ident
        where
            #index: #r::ColumnIndex<#row>,
            #(#bounds,)*
        {
            fn from_row(#value: &#lifetime #row) -> ::core::result::Result<Self, #r::Error> {
                ::core::result::Result::Ok(#body)
            }
        }
    }
}

fn field_attrs(field: &syn::Field, errors: &mut Errors) -> FieldAttrs {
    let mut attrs = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("sqlx")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                attrs.rename = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("default") {
                attrs.default = true;
            } else if meta.path.is_ident("skip") {
                attrs.skip = true;
            } else if meta.path.is_ident("flatten") {
                attrs.flatten = true;
            } else if meta.path.is_ident("json") {
                attrs.json = true;
            } else {
                return Err(meta.error(format!("unsupported `sqlx` attribute; write {ATTRS}")));
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    if attrs.flatten && (attrs.json || attrs.rename.is_some()) {
        errors.spanned(
            &field.ty,
            "a `flatten` field reads its own columns: it takes no `json` or `rename`",
        );
    }
    attrs
}

/// The errors, and an impl that keeps uses of the type from reporting follow-on errors.
fn fallback(input: &DeriveInput, errors: Errors) -> TokenStream {
    let mut out = match errors.into_result() {
        Err(e) => e.into_compile_error(),
        Ok(()) => TokenStream::new(),
    };
    let ident = &input.ident;
    if input.generics.params.is_empty() {
        let r = quote!(::mcp_secure::__private::sqlx);
        out.extend(quote! {
            impl<'__mcp_row, __McpRow: #r::Row> #r::FromRow<'__mcp_row, __McpRow> for #ident {
                fn from_row(_: &'__mcp_row __McpRow) -> ::core::result::Result<Self, #r::Error> {
                    ::core::unreachable!()
                }
            }
        });
    }
    out
}
