//! `#[tool_handler]`: rmcp's attribute of the same name, with a `tools/list` that sees the
//! request, so that `Tools::listed_by_authorization` can show each caller its own tools.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{
    Expr, ImplItem, ItemImpl, Meta, Token, parse::Parser, punctuated::Punctuated, spanned::Spanned,
};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    match expand_inner(args, input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_inner(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args.clone())?;
    let mut router: Option<Expr> = None;
    let mut meta: Option<Expr> = None;
    for m in &metas {
        if let Meta::NameValue(nv) = m {
            if nv.path.is_ident("router") {
                router = Some(nv.value.clone());
            } else if nv.path.is_ident("meta") {
                meta = Some(nv.value.clone());
            }
        }
    }
    let mut item: ItemImpl = syn::parse2(input)?;
    let has_list = item
        .items
        .iter()
        .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "list_tools"));
    if !has_list {
        let router = router.unwrap_or_else(|| syn::parse_quote!(Self::tool_router()));
        let meta = match meta {
            Some(meta) => quote!(::core::option::Option::Some(#meta)),
            None => quote!(::core::option::Option::None),
        };
        let span = router.span();
        let list: ImplItem = syn::parse_quote_spanned! {span=>
            async fn list_tools(
                &self,
                _request: ::core::option::Option<::mcp_secure::__private::rmcp::model::PaginatedRequestParams>,
                context: ::mcp_secure::__private::rmcp::service::RequestContext<::mcp_secure::__private::rmcp::RoleServer>,
            ) -> ::core::result::Result<::mcp_secure::__private::rmcp::model::ListToolsResult, ::mcp_secure::__private::rmcp::ErrorData> {
                let mut result = ::mcp_secure::__private::ToolListing::list(&#router, &context);
                result.meta = #meta;
                ::core::result::Result::Ok(result)
            }
        };
        item.items.push(list);
    }
    Ok(quote! {
        #[::mcp_secure::__private::rmcp::tool_handler(#args)]
        #item
    })
}
