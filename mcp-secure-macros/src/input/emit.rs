use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{DeriveInput, ext::IdentExt, spanned::Spanned};

use super::model::{Field, Model, Num, Rules, Shape};

/// Longest values the `email` and `url` rules accept; mirrors `mcp_secure::validate::rules`.
const EMAIL_MAX_LENGTH: u64 = 254;
const URL_MAX_LENGTH: u64 = 2048;
/// Mirrors `mcp_secure::secret::MAX_SECRET_BYTES`.
const MAX_SECRET_BYTES: u64 = 4096;

pub fn emit(model: &Model) -> TokenStream {
    match model {
        Model::Struct { ident, doc, fields } => emit_struct(ident, doc, fields),
        Model::Allowlist { ident, variants } => emit_allowlist(ident, variants),
    }
}

fn emit_struct(ident: &syn::Ident, doc: &str, fields: &[Field]) -> TokenStream {
    let name = ident.unraw().to_string();
    let idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    let types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let keys: Vec<String> = fields.iter().map(|f| f.ident.unraw().to_string()).collect();
    let required: Vec<&String> = fields
        .iter()
        .zip(&keys)
        .filter(|(f, _)| !matches!(f.shape, Shape::Option(_)))
        .map(|(_, k)| k)
        .collect();
    let properties = fields.iter().zip(&keys).map(|(f, key)| {
        let ty = &f.ty;
        let constraints = schema_code(&f.shape, &f.rules, false);
        // The opt-out is stated where reviewers look: the listing and the manifest.
        let not_a_path = f.rules.not_a_path.as_ref().map(|why| {
            quote!(::mcp_secure::__private::schema::set(__o, "x-mcp-secure-not-a-path", #why);)
        });
        // A field its own type parses (serde: aliases, defaults, custom code) is marked: what
        // the JSON says is not what the tool gets, so no policy decides on it.
        let parsed_elsewhere = (f.rules.unbounded.is_some() && parsed_by_its_type(&f.shape)).then(
            || quote!(::mcp_secure::__private::schema::set(__o, "x-mcp-secure-unbounded", true);),
        );
        let describe = (!f.doc.is_empty()).then(|| {
            let doc = &f.doc;
            quote!(::mcp_secure::__private::schema::describe(&mut __s, #doc);)
        });
        quote! {
            (#key, {
                let mut __s = __g.subschema_for::<#ty>();
                #[allow(unused_variables)]
                let __o = ::mcp_secure::__private::schema::object(&mut __s);
                #constraints
                #not_a_path
                #parsed_elsewhere
                #describe
                __s
            })
        }
    });
    let checks = fields.iter().zip(&keys).filter_map(|(f, key)| {
        let ident = &f.ident;
        let code = if f.rules.unbounded.is_some() && !has_rules(&f.rules) {
            TokenStream::new()
        } else {
            validate_code(
                &f.shape,
                &f.rules,
                quote!(&self.#ident),
                quote!(&__p),
                0,
                f.rules.unbounded.is_some(),
                &f.ty,
            )
        };
        (!code.is_empty()).then(|| quote! { { let __p = __path.field(#key); #code } })
    });
    // The path roots its `SafePath` fields name, its nested inputs' included: what a tool
    // taking this input may reach, for the sandbox.
    let roots = fields
        .iter()
        .map(|f| roots_code(&f.shape, &f.rules, &f.ty, f.rules.unbounded.is_some()));
    // `from_arguments`, the parse of a tool's arguments, is written out here (a loop over the
    // arguments, a match on their keys, a slot per field), faster than serde's visitor
    // (`benches/guard.rs`, `parts`), each field's errors naming it. A field that is an input
    // (or an option, list or box of one) is parsed by that input's parse (`Nested`), other
    // fields through serde; `Deserialize` goes through it too (`__private::arguments::
    // deserialize`), for direct serde use: no serde derive, which took half of what rustc spent
    // on a crate of tools.
    let slots: Vec<_> = (0..fields.len()).map(|i| format_ident!("__f{i}")).collect();
    // Spanned at the field's type, so that a type serde cannot parse is reported there.
    let parses = fields.iter().map(|f| {
        let ty = &f.ty;
        quote_spanned!(ty.span()=> {
            #[allow(unused_imports)]
            use ::mcp_secure::__private::arguments::{ViaNested as _, ViaSerde as _};
            (&::mcp_secure::__private::arguments::Parse::<#ty>::NEW).parse(&__key, __value)
        })
    });
    let absents = fields.iter().zip(&keys).map(|(f, key)| {
        let ty = &f.ty;
        quote_spanned!(ty.span()=> ::mcp_secure::__private::arguments::missing::<#ty>(#key))
    });
    let description = if doc.is_empty() {
        quote!(::core::option::Option::None)
    } else {
        quote!(::core::option::Option::Some(#doc))
    };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl<'de> ::mcp_secure::__private::serde::Deserialize<'de> for #ident {
                fn deserialize<__D>(__deserializer: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: ::mcp_secure::__private::serde::Deserializer<'de>,
                {
                    ::mcp_secure::__private::arguments::deserialize(__deserializer)
                }
            }

            #[automatically_derived]
            impl ::mcp_secure::__private::schemars::JsonSchema for #ident {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(#name)
                }

                fn schema_id() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(::core::concat!(::core::module_path!(), "::", #name))
                }

                fn json_schema(__g: &mut ::mcp_secure::__private::schemars::SchemaGenerator) -> ::mcp_secure::__private::schemars::Schema {
                    ::mcp_secure::__private::schema::input_object(
                        ::std::vec![#(#properties),*],
                        &[#(#required),*],
                        #description,
                    )
                }
            }

            #[automatically_derived]
            impl ::mcp_secure::__private::SecureInput for #ident {
                fn from_arguments(
                    __arguments: ::mcp_secure::__private::serde_json::Map<::std::string::String, ::mcp_secure::__private::serde_json::Value>,
                ) -> ::core::result::Result<Self, ::mcp_secure::__private::arguments::ParseError> {
                    #(let mut #slots: ::core::option::Option<#types> = ::core::option::Option::None;)*
                    for (__key, __value) in __arguments {
                        match __key.as_str() {
                            #(#keys => #slots = ::core::option::Option::Some(#parses?),)*
                            _ => return ::core::result::Result::Err(
                                ::mcp_secure::__private::arguments::unknown(&__key, &[#(#keys),*]),
                            ),
                        }
                    }
                    ::core::result::Result::Ok(#ident {
                        #(#idents: match #slots {
                            ::core::option::Option::Some(__v) => __v,
                            ::core::option::Option::None => #absents?,
                        },)*
                    })
                }

                fn validate_at(
                    &self,
                    __path: &::mcp_secure::__private::FieldPath<'_>,
                    __errors: &mut ::mcp_secure::__private::ValidationErrors,
                ) {
                    #(#checks)*
                }

                fn path_roots(__roots: &mut ::std::vec::Vec<&'static str>) {
                    #(#roots)*
                }
            }

            #[automatically_derived]
            impl ::mcp_secure::__private::arguments::Nested for #ident {
                fn parse_nested(
                    __value: ::mcp_secure::__private::serde_json::Value,
                ) -> ::core::result::Result<Self, ::mcp_secure::__private::arguments::ParseError> {
                    <Self as ::mcp_secure::__private::SecureInput>::from_arguments(
                        ::mcp_secure::__private::arguments::object(__value)?,
                    )
                }
            }

            #[automatically_derived]
            impl ::mcp_secure::__private::InputField for #ident {
                fn validate_field(
                    &self,
                    __path: &::mcp_secure::__private::FieldPath<'_>,
                    __errors: &mut ::mcp_secure::__private::ValidationErrors,
                ) {
                    <Self as ::mcp_secure::__private::SecureInput>::validate_at(self, __path, __errors);
                }

                fn path_roots(__roots: &mut ::std::vec::Vec<&'static str>) {
                    <Self as ::mcp_secure::__private::SecureInput>::path_roots(__roots);
                }
            }
        };
    }
}

fn has_rules(r: &Rules) -> bool {
    !r.string_rules().is_empty()
        || r.range.is_some()
        || r.items.is_some()
        || r.each.is_some()
        || r.path.is_some()
}

/// Code that adds to `__roots` the path roots a field names: its `path(within = ..)` rule, or
/// (for a nested input, or an option, list or box of one) the nested input's.
fn roots_code(shape: &Shape, rules: &Rules, ty: &syn::Type, unbounded: bool) -> TokenStream {
    match shape {
        Shape::Option(inner) => roots_code(inner, rules, ty, unbounded),
        Shape::Vec(elem) => {
            let each = rules
                .each
                .as_ref()
                .map(|(_, r)| r.as_ref().clone())
                .unwrap_or_default();
            roots_code(elem, &each, ty, unbounded)
        }
        Shape::SafePath => match &rules.path {
            Some((_, within)) => quote! { __roots.push(#within); },
            None => TokenStream::new(),
        },
        // The whole field's type: options, lists and boxes pass the call to what they hold. A
        // type that is not an input adds nothing here: its validation reports it.
        Shape::Other if !unbounded => quote! {{
            use ::mcp_secure::__private::{ViaInputField as _, ViaNothing as _};
            (&::mcp_secure::__private::RootsOf::<#ty>::new()).path_roots(__roots);
        }},
        _ => TokenStream::new(),
    }
}

/// Code that checks `value` (an expression of type `&T`) at `path` (an `&FieldPath`).
fn validate_code(
    shape: &Shape,
    rules: &Rules,
    value: TokenStream,
    path: TokenStream,
    depth: usize,
    unbounded: bool,
    ty: &syn::Type,
) -> TokenStream {
    let r = quote!(::mcp_secure::__private::rules);
    match shape {
        Shape::Option(inner) => {
            let v = format_ident!("__mcp_v{}", depth);
            let code = validate_code(inner, rules, quote!(#v), path, depth + 1, unbounded, ty);
            if code.is_empty() {
                return code;
            }
            quote! { if let ::core::option::Option::Some(#v) = #value { #code } }
        }
        Shape::Vec(elem) => {
            let mut out = TokenStream::new();
            if let Some((_, min, max)) = &rules.items {
                let (min, max) = (opt_usize(*min), opt_usize(*max));
                out.extend(quote! { #r::items(__errors, #path, (#value).len(), #min, #max); });
            }
            let each = rules
                .each
                .as_ref()
                .map(|(_, r)| r.as_ref().clone())
                .unwrap_or_default();
            let (e, p) = (
                format_ident!("__mcp_e{}", depth),
                format_ident!("__mcp_p{}", depth),
            );
            let code = validate_code(
                elem,
                &each,
                quote!(#e),
                quote!(&#p),
                depth + 1,
                unbounded,
                ty,
            );
            if !code.is_empty() {
                out.extend(quote! {
                    for (__i, #e) in (#value).iter().enumerate() {
                        let #p = (#path).index(__i);
                        #code
                    }
                });
            }
            out
        }
        Shape::Str => {
            let mut out = TokenStream::new();
            if let Some((_, min, max)) = &rules.length {
                let (min, max) = (opt_usize(*min), opt_usize(*max));
                out.extend(quote! { #r::length(__errors, #path, #value, #min, #max); });
            }
            if let Some(lit) = &rules.regex {
                out.extend(quote! {
                    static __MCP_RE: ::mcp_secure::__private::LazyRegex = ::mcp_secure::__private::LazyRegex::new(#lit);
                    #r::regex(__errors, #path, #value, __MCP_RE.get(), __MCP_RE.pattern());
                });
            }
            if rules.email.is_some() {
                out.extend(quote! { #r::email(__errors, #path, #value); });
            }
            if let Some(url) = &rules.url {
                let (schemes, private) = (&url.schemes, url.allow_private);
                out.extend(
                    quote! { #r::url(__errors, #path, #value, &[#(#schemes),*], #private); },
                );
            }
            if rules.no_control.is_some() {
                out.extend(quote! { #r::no_control(__errors, #path, #value); });
            }
            if let Some((_, values)) = &rules.one_of {
                out.extend(quote! { #r::one_of(__errors, #path, #value, &[#(#values),*]); });
            }
            out
        }
        Shape::Int(name) | Shape::Float(name) => match &rules.range {
            Some((_, min, max)) => {
                let (min, max) = (typed_num(min.as_ref(), name), typed_num(max.as_ref(), name));
                quote! { #r::range(__errors, #path, *#value, #min, #max); }
            }
            None => TokenStream::new(),
        },
        Shape::Secret => match &rules.length {
            Some((_, min, max)) => {
                let (min, max) = (opt_usize(*min), opt_usize(*max));
                quote! { #r::secret_length(__errors, #path, (#value).expose_secret(), #min, #max); }
            }
            None => TokenStream::new(),
        },
        Shape::SafePath => match &rules.path {
            Some((_, within)) => {
                quote! { ::mcp_secure::__private::check_path(__errors, #path, #value, #within); }
            }
            None => TokenStream::new(),
        },
        Shape::Other if !unbounded => quote_spanned! {ty.span()=>
            ::mcp_secure::__private::InputField::validate_field(#value, #path, __errors);
        },
        Shape::Other | Shape::Json | Shape::Bool => TokenStream::new(),
    }
}

/// Whether a field of `shape` is parsed by its own type rather than by this derive: free JSON,
/// or a type that is not a `SecureInput` (an unbounded field's), alone, optional or listed.
fn parsed_by_its_type(shape: &Shape) -> bool {
    match shape {
        Shape::Option(inner) | Shape::Vec(inner) => parsed_by_its_type(inner),
        Shape::Json | Shape::Other => true,
        _ => false,
    }
}

/// Statements that add `rules` to the schema object `__o`.
fn schema_code(shape: &Shape, rules: &Rules, nullable: bool) -> TokenStream {
    let s = quote!(::mcp_secure::__private::schema);
    match shape {
        Shape::Option(inner) => schema_code(inner, rules, true),
        Shape::Vec(elem) => {
            let mut out = TokenStream::new();
            if let Some((_, min, max)) = &rules.items {
                if let Some(min) = min {
                    out.extend(quote! { #s::set(__o, "minItems", #min); });
                }
                if let Some(max) = max {
                    out.extend(quote! { #s::set(__o, "maxItems", #max); });
                }
            }
            if let Some((_, each)) = &rules.each {
                let inner = schema_code(elem, each, false);
                if !inner.is_empty() {
                    out.extend(quote! { { let __o = #s::items(__o); #inner } });
                }
            }
            out
        }
        Shape::Secret => {
            let mut out = TokenStream::new();
            if let Some((_, min, max)) = &rules.length {
                if let Some(min) = min {
                    out.extend(quote! { #s::set(__o, "minLength", #min); });
                }
                // A secret is never longer than the type allows, whatever the rule says.
                if let Some(max) = max.map(|m| m.min(MAX_SECRET_BYTES)) {
                    out.extend(quote! { #s::set(__o, "maxLength", #max); });
                }
            }
            out
        }
        Shape::Str => {
            let mut out = TokenStream::new();
            let (min, mut max) = rules
                .length
                .as_ref()
                .map_or((None, None), |(_, min, max)| (*min, *max));
            if rules.email.is_some() {
                max = Some(max.map_or(EMAIL_MAX_LENGTH, |m| m.min(EMAIL_MAX_LENGTH)));
            }
            if rules.url.is_some() {
                max = Some(max.map_or(URL_MAX_LENGTH, |m| m.min(URL_MAX_LENGTH)));
            }
            if let Some(min) = min {
                out.extend(quote! { #s::set(__o, "minLength", #min); });
            }
            if let Some(max) = max {
                out.extend(quote! { #s::set(__o, "maxLength", #max); });
            }
            if let Some(lit) = &rules.regex {
                out.extend(quote! { #s::pattern(__o, #lit); });
            }
            if rules.no_control.is_some() {
                out.extend(
                    quote! { #s::pattern(__o, ::mcp_secure::__private::NO_CONTROL_PATTERN); },
                );
            }
            if rules.email.is_some() {
                out.extend(quote! { #s::set(__o, "format", "email"); });
            }
            if let Some(url) = &rules.url {
                let pattern = scheme_pattern(&url.schemes);
                out.extend(quote! { #s::set(__o, "format", "uri"); #s::pattern(__o, #pattern); });
                if url.allow_dangerous.is_some() {
                    // The opt-out is stated where reviewers look: the listing and the manifest.
                    let dangerous = url.schemes.iter().filter(|scheme| {
                        crate::symbol::DANGEROUS_SCHEMES
                            .iter()
                            .any(|(d, _)| d == scheme)
                    });
                    out.extend(quote! {
                        #s::set(__o, "x-mcp-secure-dangerous-schemes", &[#(#dangerous),*][..]);
                    });
                }
            }
            if let Some((_, values)) = &rules.one_of {
                out.extend(quote! { #s::one_of(__o, &[#(#values),*], #nullable); });
            }
            out
        }
        Shape::Int(_) | Shape::Float(_) => {
            let mut out = TokenStream::new();
            if let Some((_, min, max)) = &rules.range {
                if let Some(min) = min {
                    let v = json_num(min);
                    out.extend(quote! { #s::set(__o, "minimum", #v); });
                }
                if let Some(max) = max {
                    let v = json_num(max);
                    out.extend(quote! { #s::set(__o, "maximum", #v); });
                }
            }
            out
        }
        _ => TokenStream::new(),
    }
}

/// `^(?:[Hh][Tt][Tt][Pp][Ss]):` for `["https"]`: schemes compare case-insensitively.
fn scheme_pattern(schemes: &[String]) -> String {
    let alternatives: Vec<String> = schemes
        .iter()
        .map(|s| {
            s.chars()
                .map(|c| match c {
                    c if c.is_ascii_alphabetic() => format!("[{}{}]", c.to_ascii_uppercase(), c),
                    '+' | '.' => format!("\\{c}"),
                    c => c.to_string(),
                })
                .collect()
        })
        .collect();
    format!("^(?:{}):", alternatives.join("|"))
}

fn opt_usize(n: Option<u64>) -> TokenStream {
    match n {
        Some(n) => {
            let lit = Literal::usize_unsuffixed(n as usize);
            quote!(::core::option::Option::Some(#lit))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn typed_num(n: Option<&Num>, ty: &str) -> TokenStream {
    let Some(n) = n else {
        return quote!(::core::option::Option::None);
    };
    let ty_ident = format_ident!("{}", ty);
    let value = match (n, ty) {
        (Num::Int(i), "f32" | "f64") => {
            let lit = Literal::f64_unsuffixed(*i as f64);
            quote!(#lit as #ty_ident)
        }
        (Num::Float(f), _) => {
            let lit = Literal::f64_unsuffixed(*f);
            quote!(#lit as #ty_ident)
        }
        (Num::Int(i), _) if *i == super::check::int_bounds(ty).0 && *i < 0 => {
            quote!(#ty_ident::MIN)
        }
        (Num::Int(i), _) if *i < 0 => {
            let lit = Literal::u128_unsuffixed(i.unsigned_abs());
            quote!(-(#lit as #ty_ident))
        }
        (Num::Int(i), _) => {
            let lit = Literal::u128_unsuffixed(*i as u128);
            quote!(#lit as #ty_ident)
        }
    };
    quote!(::core::option::Option::Some(#value))
}

fn json_num(n: &Num) -> TokenStream {
    match n {
        Num::Int(i) if *i < 0 => {
            let lit = Literal::i64_suffixed(*i as i64);
            quote!(#lit)
        }
        Num::Int(i) => {
            let lit = Literal::u64_suffixed(*i as u64);
            quote!(#lit)
        }
        Num::Float(f) => {
            let lit = Literal::f64_suffixed(*f);
            quote!(#lit)
        }
    }
}

fn emit_allowlist(ident: &syn::Ident, variants: &[(syn::Ident, String)]) -> TokenStream {
    let name = ident.unraw().to_string();
    let (idents, names): (Vec<_>, Vec<_>) = variants.iter().map(|(i, n)| (i, n)).unzip();
    quote! {
        const _: () = {
            #[automatically_derived]
            impl<'de> ::mcp_secure::__private::serde::Deserialize<'de> for #ident {
                fn deserialize<__D>(__deserializer: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: ::mcp_secure::__private::serde::Deserializer<'de>,
                {
                    let __s = <::std::string::String as ::mcp_secure::__private::serde::Deserialize>::deserialize(__deserializer)?;
                    match __s.as_str() {
                        #(#names => ::core::result::Result::Ok(Self::#idents),)*
                        _ => ::core::result::Result::Err(
                            <__D::Error as ::mcp_secure::__private::serde::de::Error>::unknown_variant(&__s, &[#(#names),*]),
                        ),
                    }
                }
            }

            #[automatically_derived]
            impl ::mcp_secure::__private::schemars::JsonSchema for #ident {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(#name)
                }

                fn inline_schema() -> bool {
                    true
                }

                fn json_schema(_: &mut ::mcp_secure::__private::schemars::SchemaGenerator) -> ::mcp_secure::__private::schemars::Schema {
                    ::mcp_secure::__private::schemars::json_schema!({ "type": "string", "enum": [#(#names),*] })
                }
            }

            #[automatically_derived]
            impl ::mcp_secure::__private::InputField for #ident {}

            #[automatically_derived]
            impl #ident {
                /// The name a client sends for this value.
                pub const fn as_str(&self) -> &'static str {
                    match self {
                        #(Self::#idents => #names,)*
                    }
                }
            }
        };
    }
}

/// On error, implement the traits with inert bodies (refuse every input, an empty object
/// schema) so that uses of the type report no follow-on errors. This code only ever compiles
/// next to the `compile_error!` that explains the mistake, so it never runs.
pub fn fallback(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    quote! {
        const _: () = {
            impl<'de> ::mcp_secure::__private::serde::Deserialize<'de> for #ident {
                fn deserialize<__D>(_: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: ::mcp_secure::__private::serde::Deserializer<'de>,
                {
                    ::core::result::Result::Err(<__D::Error as ::mcp_secure::__private::serde::de::Error>::custom(
                        "this input type has compile errors",
                    ))
                }
            }
            impl ::mcp_secure::__private::schemars::JsonSchema for #ident {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed("invalid")
                }
                fn json_schema(_: &mut ::mcp_secure::__private::schemars::SchemaGenerator) -> ::mcp_secure::__private::schemars::Schema {
                    ::mcp_secure::__private::schemars::json_schema!({ "type": "object" })
                }
            }
            impl ::mcp_secure::__private::SecureInput for #ident {
                fn from_arguments(
                    _: ::mcp_secure::__private::serde_json::Map<::std::string::String, ::mcp_secure::__private::serde_json::Value>,
                ) -> ::core::result::Result<Self, ::mcp_secure::__private::arguments::ParseError> {
                    ::core::result::Result::Err(<::mcp_secure::__private::arguments::ParseError as ::mcp_secure::__private::serde::de::Error>::custom(
                        "this input type has compile errors",
                    ))
                }
                fn validate_at(&self, _: &::mcp_secure::__private::FieldPath<'_>, _: &mut ::mcp_secure::__private::ValidationErrors) {}
            }
            impl ::mcp_secure::__private::InputField for #ident {}
        };
    }
}
