//! `#[handler]` on an `impl Handler for T` block: writes `allowed_methods` from the `on_*`
//! methods the block defines, the way Falcon finds a responder's verbs by their names.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, ImplItem, ItemImpl};

const VERBS: &[(&str, &str)] = &[
    ("on_get", "GET"),
    ("on_head", "HEAD"),
    ("on_post", "POST"),
    ("on_put", "PUT"),
    ("on_patch", "PATCH"),
    ("on_delete", "DELETE"),
];

#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[handler] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let mut block = parse_macro_input!(item as ItemImpl);
    let methods: Vec<&str> = VERBS
        .iter()
        .filter(|(func, _)| {
            block
                .items
                .iter()
                .any(|item| matches!(item, ImplItem::Fn(f) if f.sig.ident == func))
        })
        .map(|(_, verb)| *verb)
        .collect();
    if methods.is_empty() {
        return syn::Error::new_spanned(
            &block.self_ty,
            "a handler must define at least one of on_get, on_head, on_post, on_put, on_patch, on_delete",
        )
        .to_compile_error()
        .into();
    }
    block.items.push(syn::parse_quote! {
        fn allowed_methods(&self) -> &'static [&'static str] {
            &[#(#methods),*]
        }
    });
    quote!(#block).into()
}
