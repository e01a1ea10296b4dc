use proc_macro2::{Span, TokenStream};
use syn::{
    Attribute, FnArg, Ident, ImplItem, ItemImpl, LitBool, LitStr, Pat, Type, meta::ParseNestedMeta,
    parse::Parser, spanned::Spanned,
};

use crate::{ctxt::Errors, symbol::*};

pub struct Parsed {
    pub router: Option<Ident>,
    pub default_rate: Option<LitStr>,
    pub tools: Vec<ToolSyntax>,
}

pub struct ToolSyntax {
    pub attr: Attribute,
    pub fn_ident: Ident,
    pub sig: syn::Signature,
    pub docs: Vec<Attribute>,
    pub scope: Option<LitStr>,
    pub public: Option<Span>,
    pub rate: Option<LitStr>,
    pub rate_key: Option<LitStr>,
    pub name: Option<LitStr>,
    pub title: Option<LitStr>,
    pub description: Option<LitStr>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub max_output: Option<LitStr>,
    pub raw_output: bool,
    pub all_owners: Option<LitStr>,
    pub params: Vec<ParamSyntax>,
}

pub struct ParamSyntax {
    pub pat: Pat,
    pub ty: Type,
    /// The `#[mcp(...)]` and doc attributes, moved to the generated input struct.
    pub mcp_attrs: Vec<Attribute>,
}

/// The `router = name` of the arguments, if it can be read: what the fallback names its
/// functions after when the arguments or the tools have errors.
pub fn router_name(args: TokenStream) -> Option<Ident> {
    let mut router = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(ROUTER) {
            router = Some(meta.value()?.parse::<Ident>()?);
        } else if meta.input.peek(syn::Token![=]) {
            meta.value()?.parse::<syn::Expr>()?;
        }
        Ok(())
    });
    let _ = parser.parse2(args);
    router
}

/// Parses the arguments and every `#[mcp_tool]` method, removing our attributes from `item`
/// (the attribute itself and `#[mcp(...)]` on parameters) so it compiles as plain Rust.
pub fn parse(args: TokenStream, item: &mut ItemImpl) -> syn::Result<Parsed> {
    let mut errors = Errors::default();
    let mut router = None;
    let mut default_rate = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(ROUTER) {
            router = Some(meta.value()?.parse::<Ident>()?);
            Ok(())
        } else if meta.path.is_ident(DEFAULT_RATE) {
            default_rate = Some(meta.value()?.parse::<LitStr>()?);
            Ok(())
        } else {
            Err(meta.error(
                "unknown `mcp_tools` option; expected `router = name` or `default_rate = \"N/s\"`",
            ))
        }
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    let mut tools = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        // rmcp's `#[tool]` would register the method with none of the checks, and this router
        // would not route it: the method would be dropped without a word.
        // Under another name (`use rmcp::tool as plain`) or inside `cfg_attr` it would be too:
        // an attribute this macro does not know is refused, whatever it is called.
        for attr in &method.attrs {
            for path in unknown_attrs(attr) {
                if path.segments.last().is_some_and(|s| s.ident == TOOL) {
                    errors.spanned(
                        attr,
                        "rmcp's `#[tool]` registers a tool with no scope check, rate limit or input validation, and `#[mcp_tools]` does not route it: write `#[mcp_tool(scope = \"resource:action\", rate = \"N/min\")]` (or `public`) instead",
                    );
                } else {
                    errors.spanned(
                        attr,
                        format!(
                            "`#[{}]` on a method of `#[mcp_tools]`: an attribute mcp-secure does not know, which may register the method as a tool with none of its checks (rmcp's `#[tool]` under another name); declare tools with `#[mcp_tool(...)]`, and keep other methods' attributes to doc, cfg, cfg_attr, lint levels, deprecated, must_use, inline, cold, track_caller and tracing's instrument",
                            quote::ToTokens::to_token_stream(&path).to_string().replace(' ', "")
                        ),
                    );
                }
            }
        }
        let Some(pos) = method.attrs.iter().position(is_tool_attr) else {
            if let Some(attr) = method.sig.inputs.iter().find_map(|a| mcp_attr_of(a)) {
                errors.spanned(attr, "`#[mcp(...)]` parameters belong to `#[mcp_tool]` methods; add `#[mcp_tool(...)]` to this method");
            }
            continue;
        };
        let attr = method.attrs.remove(pos);
        if let Some(second) = method.attrs.iter().find(|a| is_tool_attr(a)) {
            errors.spanned(
                second,
                "`#[mcp_tool]` is given twice on this method; keep one",
            );
        }
        let mut tool = ToolSyntax {
            attr: attr.clone(),
            fn_ident: method.sig.ident.clone(),
            sig: method.sig.clone(),
            docs: method
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            scope: None,
            public: None,
            rate: None,
            rate_key: None,
            name: None,
            title: None,
            description: None,
            destructive: None,
            idempotent: None,
            max_output: None,
            raw_output: false,
            all_owners: None,
            params: Vec::new(),
        };
        if matches!(attr.meta, syn::Meta::List(_))
            && let Err(e) = attr.parse_nested_meta(|meta| tool_option(meta, &mut tool, &mut errors))
        {
            errors.push(e);
        }
        for arg in &mut method.sig.inputs {
            let FnArg::Typed(pt) = arg else { continue };
            // `#[mcp(...)]` rules and `///` docs move to the generated input struct's field.
            let (mcp_attrs, others): (Vec<_>, Vec<_>) = pt
                .attrs
                .drain(..)
                .partition(|a| a.path().is_ident(MCP) || a.path().is_ident("doc"));
            pt.attrs = others;
            tool.params.push(ParamSyntax {
                pat: (*pt.pat).clone(),
                ty: (*pt.ty).clone(),
                mcp_attrs,
            });
        }
        tools.push(tool);
    }
    errors.into_result()?;
    Ok(Parsed {
        router,
        default_rate,
        tools,
    })
}

fn is_tool_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == MCP_TOOL)
}

/// Attributes a method of `#[mcp_tools]` may carry besides `#[mcp_tool]`: the compiler's own
/// and tracing's `instrument`, none of which registers a tool.
const KNOWN_ATTRS: &[&str] = &[
    "doc",
    "cfg",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "deprecated",
    "must_use",
    "inline",
    "cold",
    "track_caller",
    "instrument",
];

/// Tool namespaces the compiler reserves (`#[rustfmt::skip]`, `#[clippy::...]`).
const KNOWN_TOOLS: &[&str] = &["rustfmt", "clippy", "diagnostic"];

/// The paths of `attr` (and of the attributes its `cfg_attr` would apply) that are neither
/// `#[mcp_tool]` nor among [`KNOWN_ATTRS`].
fn unknown_attrs(attr: &Attribute) -> Vec<syn::Path> {
    fn known(path: &syn::Path) -> bool {
        let last = path.segments.last().map(|s| s.ident.to_string());
        let first = path.segments.first().map(|s| s.ident.to_string());
        match (path.segments.len(), first.as_deref(), last.as_deref()) {
            (_, _, Some(MCP_TOOL)) => true,
            (1, _, Some(name)) => KNOWN_ATTRS.contains(&name),
            (2, Some("tracing"), Some("instrument")) => true,
            (_, Some(tool), _) => KNOWN_TOOLS.contains(&tool),
            _ => false,
        }
    }
    fn walk(meta: &syn::Meta, out: &mut Vec<syn::Path>) {
        let path = meta.path();
        if path.is_ident("cfg_attr") {
            // `cfg_attr(predicate, attr, ...)`: every attribute after the predicate.
            if let syn::Meta::List(list) = meta
                && let Ok(items) = list.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                )
            {
                items.iter().skip(1).for_each(|m| walk(m, out));
            }
        } else if !known(path) {
            out.push(path.clone());
        }
    }
    let mut out = Vec::new();
    walk(&attr.meta, &mut out);
    out
}

fn mcp_attr_of(arg: &FnArg) -> Option<&Attribute> {
    match arg {
        FnArg::Typed(pt) => pt.attrs.iter().find(|a| a.path().is_ident(MCP)),
        FnArg::Receiver(_) => None,
    }
}

fn tool_option(
    meta: ParseNestedMeta,
    tool: &mut ToolSyntax,
    errors: &mut Errors,
) -> syn::Result<()> {
    let span = meta.path.span();
    let key = meta
        .path
        .get_ident()
        .map(Ident::to_string)
        .unwrap_or_default();
    let mut string = |slot: &mut Option<LitStr>| -> syn::Result<()> {
        let lit: LitStr = meta.value()?.parse().map_err(|e| {
            syn::Error::new(e.span(), format!("expected a string: `{key} = \"...\"`"))
        })?;
        if slot.is_some() {
            errors.at(span, format!("`{key}` is given twice; keep one"));
        }
        *slot = Some(lit);
        Ok(())
    };
    match key.as_str() {
        SCOPE => string(&mut tool.scope),
        RATE => string(&mut tool.rate),
        RATE_KEY => string(&mut tool.rate_key),
        MAX_OUTPUT => string(&mut tool.max_output),
        ALL_OWNERS => string(&mut tool.all_owners),
        RAW_OUTPUT => {
            tool.raw_output = true;
            Ok(())
        }
        NAME => string(&mut tool.name),
        TITLE => string(&mut tool.title),
        DESCRIPTION => string(&mut tool.description),
        PUBLIC => {
            tool.public = Some(span);
            Ok(())
        }
        DESTRUCTIVE | IDEMPOTENT => {
            let value = if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<LitBool>()?.value
            } else {
                true
            };
            if key == DESTRUCTIVE {
                tool.destructive = Some(value);
            } else {
                tool.idempotent = Some(value);
            }
            Ok(())
        }
        _ => {
            errors.at(
                span,
                format!(
                    "unknown `mcp_tool` option `{key}`; the options are: {}",
                    TOOL_OPTIONS.join(", ")
                ),
            );
            if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.input.parse::<proc_macro2::Group>()?;
            }
            Ok(())
        }
    }
}
