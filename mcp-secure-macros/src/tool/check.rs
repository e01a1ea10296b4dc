use std::collections::HashMap;

use quote::format_ident;
use syn::{FnArg, Ident, ItemImpl, Pat, ReturnType, Type, spanned::Spanned};

use super::{
    model::{Arg, InlineField, Input, Model, Tool},
    syntax::{ParamSyntax, Parsed, ToolSyntax},
};
use crate::{
    ctxt::Errors,
    grammar::{Rate, check_rate_key, check_scope, check_tool_name, parse_rate, parse_size},
    input::{
        check_path_name,
        model::{Shape, head_and_arg},
        parse_attrs,
    },
    scopes::doc_text,
    symbol::*,
};

pub fn check(item: &ItemImpl, parsed: Parsed) -> syn::Result<Model> {
    let mut errors = Errors::default();
    if let Some((_, path, _)) = &item.trait_ {
        errors.spanned(
            path,
            "`#[mcp_tools]` goes on an inherent `impl Type { ... }` block, not on a trait impl",
        );
    }
    let default_rate =
        parsed
            .default_rate
            .as_ref()
            .and_then(|lit| match parse_rate(&lit.value()) {
                Ok(rate) => Some(rate),
                Err(msg) => {
                    errors.spanned(lit, msg);
                    None
                }
            });
    // An invalid default was reported above; do not also report every tool as rate-less.
    let fallback = default_rate.or(parsed.default_rate.as_ref().map(|_| Rate::Unlimited));
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut tools = Vec::new();
    for t in parsed.tools {
        if let Some(tool) = check_tool(t, fallback, &mut errors) {
            if seen.insert(tool.name.clone(), ()).is_some() {
                errors.at(
                    tool.span,
                    format!(
                        "two tools are named `{}`; tool names must be unique",
                        tool.name
                    ),
                );
            }
            tools.push(tool);
        }
    }
    errors.into_result()?;
    let (router, policies) = names(parsed.router);
    Ok(Model {
        router,
        policies,
        tools,
    })
}

fn check_tool(t: ToolSyntax, default_rate: Option<Rate>, errors: &mut Errors) -> Option<Tool> {
    let mut errs = Errors::default();
    match (&t.scope, t.public) {
        (None, None) => errs.spanned(
            &t.attr,
            "this tool declares no access policy: add `scope = \"resource:action\"` (callers need that scope) or `public` (anyone may call it)",
        ),
        (Some(_), Some(public)) => errs.at(public, "a tool is either `public` or needs a `scope`, not both: remove one"),
        (Some(scope), None) => {
            if let Err(msg) = check_scope(&scope.value()) {
                errs.spanned(scope, msg);
            }
        }
        (None, Some(_)) => {}
    }
    let rate = match &t.rate {
        Some(lit) => parse_rate(&lit.value())
            .map_err(|msg| errs.spanned(lit, msg))
            .ok(),
        None if default_rate.is_some() => default_rate,
        None => {
            errs.spanned(
                &t.attr,
                "this tool has no rate: add `rate = \"10/s\"` (or `rate = \"unlimited\"` to opt out), or give every tool of the impl a default with `#[mcp_tools(default_rate = \"10/s\")]`",
            );
            None
        }
    };
    if let Some(key) = &t.rate_key {
        if let Err(msg) = check_rate_key(&key.value()) {
            errs.spanned(key, msg);
        } else if rate == Some(Rate::Unlimited) {
            errs.spanned(
                key,
                "an `unlimited` tool has no rate to key; remove `rate_key`",
            );
        }
    }
    let max_output = t.max_output.as_ref().and_then(|lit| {
        parse_size(&lit.value())
            .map_err(|msg| errs.spanned(lit, msg))
            .ok()
    });
    let name = t
        .name
        .as_ref()
        .map_or_else(|| t.fn_ident.to_string(), |n| n.value());
    if let Err(msg) = check_tool_name(&name) {
        match &t.name {
            Some(lit) => errs.spanned(lit, msg),
            None => errs.spanned(&t.fn_ident, msg),
        }
    }
    let sig = &t.sig;
    if sig.asyncness.is_none() {
        errs.spanned(
            sig.fn_token,
            format!(
                "`#[mcp_tool]` methods must be `async`: write `async fn {}(...)`",
                t.fn_ident
            ),
        );
    }
    if !sig.generics.params.is_empty() {
        errs.spanned(
            &sig.generics,
            "`#[mcp_tool]` methods cannot be generic; use concrete types",
        );
    }
    let mut has_receiver = false;
    for input in &sig.inputs {
        if let FnArg::Receiver(r) = input {
            has_receiver = true;
            if r.reference.is_none() || r.mutability.is_some() {
                errs.spanned(r, "a tool receives the server shared: write `&self`");
            }
        }
    }
    let (args, input) = classify_params(&t, &mut errs);
    if let Some(why) = &t.all_owners {
        if !args.iter().any(|a| matches!(a, Arg::AllOwners)) {
            errs.spanned(
                why,
                "`all_owners` grants a parameter `AllOwners` (for `sql!(\"...\", all_owners = &every)`): take one, or remove `all_owners`",
            );
        } else if why.value().trim().is_empty() {
            errs.spanned(
                why,
                "say why the tool queries every owner's rows: the manifest shows it",
            );
        }
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) => json_output(ty),
        ReturnType::Default => None,
    };
    let docs = doc_text(&t.docs);
    let description = t
        .description
        .as_ref()
        .map(|d| d.value())
        .or((!docs.is_empty()).then_some(docs));
    let ok = errs.is_empty();
    if let Err(e) = errs.into_result() {
        errors.push(e);
    }
    ok.then(|| Tool {
        span: t.fn_ident.span(),
        fn_ident: t.fn_ident.clone(),
        name,
        scope: t.scope.clone(),
        rate: rate.expect("checked when no errors"),
        rate_key: t.rate_key.as_ref().map(|k| k.value()),
        title: t.title.as_ref().map(|l| l.value()),
        description,
        destructive: t.destructive,
        idempotent: t.idempotent,
        max_output,
        raw_output: t.raw_output,
        all_owners: t.all_owners.clone(),
        has_receiver,
        args,
        input: input.expect("classified when no errors"),
        output,
    })
}

/// Sorts parameters into the caller, the request context, and the input (one `SecureInput`
/// type, or inline fields).
fn classify_params(t: &ToolSyntax, errs: &mut Errors) -> (Vec<Arg>, Option<Input>) {
    let mut args = Vec::new();
    let mut inline = Vec::new();
    let mut input_types = Vec::new();
    let (mut principal, mut context, mut round, mut all_owners) = (None, None, None, None);
    for p in &t.params {
        let last = last_segment(&p.ty);
        let rules: Vec<_> = p
            .mcp_attrs
            .iter()
            .filter(|a| a.path().is_ident(MCP))
            .collect();
        if rules.is_empty() && last.as_deref() == Some(PRINCIPAL) {
            if principal.replace(p.ty.span()).is_some() {
                errs.spanned(
                    &p.ty,
                    "the caller is taken once; remove this second `Principal`",
                );
            }
            args.push(Arg::Principal);
        } else if rules.is_empty() && last.as_deref() == Some(REQUEST_CONTEXT) {
            if context.replace(p.ty.span()).is_some() {
                errs.spanned(
                    &p.ty,
                    "the request context is taken once; remove this second `RequestContext`",
                );
            }
            args.push(Arg::Context);
        } else if rules.is_empty() && last.as_deref() == Some(INPUT_ROUND) {
            if round.replace(p.ty.span()).is_some() {
                errs.spanned(
                    &p.ty,
                    "the input round is taken once; remove this second `InputRound`",
                );
            }
            args.push(Arg::Round);
        } else if rules.is_empty() && last.as_deref() == Some(ALL_OWNERS_TYPE) {
            if all_owners.replace(p.ty.span()).is_some() {
                errs.spanned(
                    &p.ty,
                    "every owner's rows are granted once; remove this second `AllOwners`",
                );
            } else if t.all_owners.is_none() {
                errs.spanned(
                    &p.ty,
                    "a tool that queries every owner's rows says why, for the manifest: add `all_owners = \"why\"` to its `#[mcp_tool(...)]`",
                );
            }
            args.push(Arg::AllOwners);
        } else if rules.is_empty() && !Shape::of(&p.ty).is_inline_param() {
            check_param_path_name(p, errs);
            input_types.push(p);
            args.push(Arg::Input);
        } else {
            check_param_path_name(p, errs);
            inline.push(p);
            args.push(Arg::Input);
        }
    }
    if input_types.len() >= 2 && inline.is_empty() {
        for extra in &input_types[1..] {
            errs.spanned(
                &extra.ty,
                "a tool takes one input type: merge these into one `#[derive(SecureInput)]` struct, or declare the parameters inline with `#[mcp(...)]` rules",
            );
        }
        return (args, None);
    }
    if input_types.len() == 1 && inline.is_empty() {
        let ty = input_types[0].ty.clone();
        return (args, Some(Input::Type(ty)));
    }
    // Inline: every non-special parameter becomes a field of the generated input struct.
    let mut fields = Vec::new();
    let mut out_args = Vec::new();
    let mut next = t.params.iter();
    for arg in args {
        let param = next.next().expect("one arg per param");
        if !matches!(arg, Arg::Input) {
            out_args.push(arg);
            continue;
        }
        let Pat::Ident(pi) = &param.pat else {
            errs.spanned(&param.pat, "an inline tool parameter needs a plain name, e.g. `limit: u32`: it becomes the JSON field");
            continue;
        };
        if pi.by_ref.is_some() || pi.subpat.is_some() {
            errs.spanned(
                &param.pat,
                "an inline tool parameter needs a plain name, e.g. `limit: u32`",
            );
        }
        fields.push(InlineField {
            ident: pi.ident.clone(),
            ty: param.ty.clone(),
            attrs: param.mcp_attrs.clone(),
        });
        out_args.push(Arg::Field(pi.ident.clone()));
    }
    let ident = format_ident!(
        "{}Input",
        camel_case(
            &t.name
                .as_ref()
                .map_or_else(|| t.fn_ident.to_string(), |n| n.value())
        )
    );
    (out_args, Some(Input::Inline { ident, fields }))
}

/// A parameter named like a path that holds text is refused here, before any input type is
/// generated, so that every such parameter of the impl is reported in one build.
fn check_param_path_name(p: &ParamSyntax, errs: &mut Errors) {
    let Pat::Ident(pi) = &p.pat else { return };
    // Rule errors are the generated input's to report.
    let rules = parse_attrs(&p.mcp_attrs, &mut Errors::default());
    if rules.path.is_none() {
        check_path_name(&pi.ident, &p.ty, rules.not_a_path.as_ref(), errs);
    }
}

fn last_segment(ty: &Type) -> Option<String> {
    head_and_arg(ty).map(|(head, _)| head.to_string())
}

/// `T` of a return type `Json<T>` or `Result<Json<T>, E>`.
fn json_output(ty: &Type) -> Option<Type> {
    match head_and_arg(ty)? {
        (head, Some(arg)) if head == JSON => Some(arg.clone()),
        (head, Some(arg)) if head == "Result" => json_output(arg),
        _ => None,
    }
}

fn camel_case(name: &str) -> String {
    name.split(['_', '-', '.'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The names of the generated router and policies functions: `tool_router` and
/// `tool_policies`, or `<router>` and `<router>_policies` for `router = <router>`.
pub fn names(router: Option<Ident>) -> (Ident, Ident) {
    let router = router.unwrap_or_else(|| format_ident!("tool_router"));
    let policies = if router == "tool_router" {
        format_ident!("tool_policies")
    } else {
        format_ident!("{}_policies", router)
    };
    (router, policies)
}

/// The name of the generated function returning both as one `Tools` value: `tools`, or
/// `<router>_tools`.
pub fn tools_name(router: &Ident) -> Ident {
    if router == "tool_router" {
        format_ident!("tools")
    } else {
        format_ident!("{}_tools", router)
    }
}
