//! Fix-ups of the requests progenitor builds: what goes on the wire, and the `send`
//! through which every call reaches the runtime.

use proc_macro2::{Ident, Span};
use quote::{format_ident, quote};
use syn::visit::Visit;

use crate::model::Lowered;

/// progenitor sends `api-version: <info.version>` on every request, which no vendor
/// here reads; removing it in the generated code spares every call a header map and
/// the hooks a lookup. Fails unless every operation's header was found.
pub fn drop_api_version(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    let operations = lowered.operations.len();
    struct Drop(usize);
    impl syn::visit_mut::VisitMut for Drop {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let before = block.stmts.len();
            block.stmts.retain(|stmt| {
                let text = quote!(#stmt).to_string();
                !(text.starts_with("header_map . append") && text.contains("\"api-version\""))
            });
            let removed = before - block.stmts.len();
            self.0 += removed;
            if removed > 0 {
                // The map was sized for the header just removed.
                for stmt in &mut block.stmts {
                    let text = quote!(#stmt).to_string();
                    if text.starts_with("let mut header_map") && text.contains("with_capacity") {
                        let count = capacity_of(&text).saturating_sub(removed);
                        let replacement = if count == 0 {
                            "let header_map = ::reqwest::header::HeaderMap::new();".to_owned()
                        } else {
                            format!("let mut header_map = ::reqwest::header::HeaderMap::with_capacity({count}usize);")
                        };
                        if let Ok(new) = syn::parse_str::<syn::Stmt>(&replacement) {
                            *stmt = new;
                        }
                    }
                }
            }
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
    /// The `N` of `with_capacity(Nusize)`.
    fn capacity_of(text: &str) -> usize {
        text.split("with_capacity (")
            .nth(1)
            .and_then(|rest| rest.split("usize").next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }
    let mut drop = Drop(0);
    syn::visit_mut::VisitMut::visit_file_mut(&mut drop, file);
    if drop.0 != operations {
        return Err(format!(
            "removed {} `api-version` headers for {operations} operations",
            drop.0
        ));
    }
    Ok(())
}

/// A `#fragment` in a spec's path key only tells apart two operations on one wire path
/// (specs/README.md); progenitor copies it into URLs (where HTTP never sends it) and into
/// the docs (where users would read it). It goes from both.
pub fn drop_path_fragments(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    /// The `(with, without)` fragment pairs, and how many strings and macros changed.
    struct Drop(Vec<(String, String)>, usize);
    impl syn::visit_mut::VisitMut for Drop {
        fn visit_lit_str_mut(&mut self, lit: &mut syn::LitStr) {
            let text = lit.value();
            let mut changed = text.clone();
            for (with, without) in &self.0 {
                changed = changed.replace(with.as_str(), without);
            }
            if changed != text {
                *lit = syn::LitStr::new(&changed, lit.span());
                self.1 += 1;
            }
        }

        // The URLs are built in `format!`, whose tokens syn does not parse.
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            let text = mac.tokens.to_string();
            let mut changed = text.clone();
            for (with, without) in &self.0 {
                changed = changed.replace(with.as_str(), without);
            }
            if changed != text
                && let Ok(tokens) = changed.parse()
            {
                mac.tokens = tokens;
                self.1 += 1;
            }
        }
    }
    let fragments = lowered
        .spec
        .paths
        .paths
        .keys()
        .filter_map(|key| key.split_once('#').map(|(path, _)| (key.clone(), path.to_owned())))
        .collect();
    let mut drop = Drop(fragments, 0);
    syn::visit_mut::VisitMut::visit_file_mut(&mut drop, file);
    // Every fragment appears at least in its operation's URL.
    if drop.1 < drop.0.len() {
        return Err(format!(
            "{} path fragments in the spec, {} places changed",
            drop.0.len(),
            drop.1
        ));
    }
    Ok(())
}

/// progenitor's `send` returns its own error, which prints URLs, bodies and headers,
/// and knows nothing of the spec's extensions. It becomes the private `dispatch`; the
/// public `send` checks the path and required query arguments, then runs `dispatch`
/// through the runtime's `finish`, which applies the operation's table and returns
/// `api_tokens_runtime::Error`.
pub fn wrap_sends(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    let builder = super::module(file, "builder")?;
    // Field names of every builder struct, to check that the parameters the tables list
    // are the fields progenitor generated.
    let fields: Vec<(String, Vec<String>)> = builder
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(st) => Some((
                st.ident.to_string(),
                st.fields
                    .iter()
                    .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    let mut wrapped = Vec::new();
    for item in builder.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(index) = imp
            .items
            .iter()
            .position(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "send"))
        else {
            continue;
        };
        let syn::ImplItem::Fn(send) = &mut imp.items[index] else {
            continue;
        };
        // The operation's table is found by the id progenitor wrote, never by position.
        let id = operation_id(send).ok_or("a `send` without `operation_id`")?;
        let Some(op) = lowered.operations.iter().find(|op| op.id == id) else {
            return Err(format!(
                "progenitor named an operation `{id}`, which the tables do not know"
            ));
        };
        let self_name = match &*imp.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let builder_fields = fields
            .iter()
            .find(|(name, _)| Some(name) == self_name.as_ref())
            .map(|(_, f)| f)
            .ok_or(format!("no builder struct for `{id}`"))?;
        // Path parameters and required query parameters are checked before sending: an
        // empty, `.` or `..` value would reach another endpoint than the one called.
        let checked: Vec<Ident> = op
            .path_params
            .iter()
            .chain(&op.required_query)
            .map(|name| {
                if builder_fields.contains(name) {
                    Ok(format_ident!("{name}"))
                } else {
                    Err(format!("`{id}`'s builder has no field `{name}` for its parameter"))
                }
            })
            .collect::<Result<_, _>>()?;
        let checked_names: Vec<String> = checked.iter().map(ToString::to_string).collect();
        let success = success_type(&send.sig.output).ok_or(format!("`{id}`'s send has an unexpected return type"))?;
        // progenitor's docs (method and path) move to the public `send`.
        let docs: Vec<syn::Attribute> = send
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect();
        send.attrs.retain(|a| !a.path().is_ident("doc"));
        send.sig.ident = Ident::new("dispatch", Span::call_site());
        send.vis = syn::Visibility::Inherited;
        let table = format_ident!("{}", id.to_uppercase());
        let wrapper: syn::ImplItemFn = syn::parse2(quote! {
            #(#docs)*
            ///
            /// Errors are [`api_tokens_runtime::Error`]s: vendor errors keep the vendor's
            /// code and message, and no secret appears in them.
            pub async fn send(self) -> Result<ResponseValue<#success>, ::api_tokens_runtime::Error> {
                let (api, op) = (&super::wire::API, &super::wire::#table);
                #(
                    if let Ok(value) = &self.#checked {
                        ::api_tokens_runtime::hooks::check_argument(api, op, #checked_names, value)?;
                    }
                )*
                let client = self.client;
                ::api_tokens_runtime::hooks::finish(api, op, &client.inner, self.dispatch()).await
            }
        })
        .map_err(|e| e.to_string())?;
        imp.items.push(syn::ImplItem::Fn(wrapper));
        wrapped.push(id);
    }
    // An operation whose `send` was not wrapped would skip its table: auth, envelopes and
    // scrubbing alike.
    if wrapped.len() != lowered.operations.len() {
        return Err(format!(
            "wrapped {} sends for {} operations",
            wrapped.len(),
            lowered.operations.len()
        ));
    }
    Ok(())
}

/// The `operation_id` progenitor writes into the `OperationInfo` of a `send`.
pub fn operation_id(send: &syn::ImplItemFn) -> Option<String> {
    struct Find(Option<String>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_field_value(&mut self, field: &'ast syn::FieldValue) {
            if let (syn::Member::Named(name), syn::Expr::Lit(lit)) = (&field.member, &field.expr)
                && let (true, syn::Lit::Str(s)) = (name == "operation_id", &lit.lit)
            {
                self.0 = Some(s.value());
            }
            syn::visit::visit_field_value(self, field);
        }
    }
    let mut find = Find(None);
    find.visit_block(&send.block);
    find.0
}

/// `T` of `Result<ResponseValue<T>, Error<E>>`.
fn success_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let first_arg = |ty: &syn::Type, name: &str| -> Option<syn::Type> {
        let syn::Type::Path(path) = ty else { return None };
        let last = path.path.segments.last()?;
        if last.ident != name {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
    };
    first_arg(&first_arg(ty, "Result")?, "ResponseValue")
}
