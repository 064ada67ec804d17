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
        // A plain `fn` returning the runtime's future, not an `async fn` holding it in
        // one more: the call's future is what a task spawned per call allocates.
        let checks = if checked.is_empty() {
            quote!(let checked = Ok(());)
        } else {
            quote! {
                let checked = (|| {
                    #(
                        if let Ok(value) = &self.#checked {
                            ::api_tokens_runtime::hooks::check_argument(api, op, #checked_names, value)?;
                        }
                    )*
                    Ok(())
                })();
            }
        };
        let wrapper: syn::ImplItemFn = syn::parse2(quote! {
            #(#docs)*
            ///
            /// Errors are [`api_tokens_runtime::Error`]s: vendor errors keep the vendor's
            /// code and message, and no secret appears in them.
            pub fn send(
                self,
            ) -> impl ::std::future::Future<Output = Result<ResponseValue<#success>, ::api_tokens_runtime::Error>> + 'a {
                let (api, op) = (&super::wire::API, &super::wire::#table);
                #checks
                let client = self.client;
                ::api_tokens_runtime::hooks::finish(api, op, &client.inner, checked, self.dispatch())
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

/// progenitor's calls send through its hooks (`pre`, `exec`, `post`, each awaited with
/// the request or its result borrowed) and decode with `ResponseValue::from_response`;
/// every call's future held the request, the result and a 944-byte decoding future for
/// them. Each call sends through the runtime's `hooks::send` (which gives the status
/// beside the answer, so that the answer is never borrowed) and decodes with its
/// `hooks::decode` instead, and progenitor's check that the hooks are implemented goes
/// with them. Runs last, on the `dispatch`es. Fails unless every
/// operation's sequence was found as progenitor writes it, and no `from_response` is
/// left.
pub fn send_through_runtime(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    // progenitor's statements, in order, as tokens print.
    const HOOKED: [&str; 5] = [
        "let info = OperationInfo {",
        "client . pre (& mut request , & info) . await ? ;",
        "let result = client . exec (request , & info) . await ;",
        "client . post (& result , & info) . await ? ;",
        "let response = result ? ;",
    ];
    let text = |stmt: &syn::Stmt| quote!(#stmt).to_string();
    let mut sent = 0;
    for item in super::module(file, "builder")?.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        for item in &mut imp.items {
            let syn::ImplItem::Fn(dispatch) = item else { continue };
            if dispatch.sig.ident != "dispatch" {
                continue;
            }
            let stmts = &mut dispatch.block.stmts;
            let at = stmts
                .iter()
                .position(|s| text(s).starts_with(HOOKED[0]))
                .ok_or("a `dispatch` without progenitor's `OperationInfo`")?;
            let found: Vec<String> = stmts.iter().skip(at).take(HOOKED.len()).map(text).collect();
            let matches = found.len() == HOOKED.len()
                && found[0].starts_with(HOOKED[0])
                && found.iter().zip(HOOKED).skip(1).all(|(f, h)| f == h);
            if !matches {
                return Err(format!(
                    "progenitor's hook calls are no longer `{}`",
                    HOOKED[1..].join(" ")
                ));
            }
            let send: syn::Stmt = syn::parse_quote! {
                let (status, response) = ::api_tokens_runtime::hooks::send(&client.client, &client.inner, request).await?;
            };
            stmts.splice(at..at + HOOKED.len(), [send]);
            // progenitor matches on `response.status()`: a borrow, which keeps the
            // response's room in the future across every await after it.
            let on = |m: &syn::ExprMatch| {
                let on = &m.expr;
                quote!(#on).to_string()
            };
            let by_status = stmts.iter_mut().find_map(|stmt| match stmt {
                syn::Stmt::Expr(syn::Expr::Match(m), _) if on(m) == "response . status () . as_u16 ()" => Some(m),
                _ => None,
            });
            let Some(by_status) = by_status else {
                return Err("a `dispatch` without progenitor's `match response.status().as_u16()`".into());
            };
            *by_status.expr = syn::parse_quote!(status);
            sent += 1;
        }
    }
    if sent != lowered.operations.len() {
        return Err(format!(
            "{sent} calls send through the runtime, for {} operations",
            lowered.operations.len()
        ));
    }
    /// Calls replaced, and calls of a `from_response` in another form, left.
    struct Decode(usize, usize);
    impl syn::visit_mut::VisitMut for Decode {
        fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
            syn::visit_mut::visit_expr_call_mut(self, call);
            let func = &call.func;
            let path = quote!(#func).to_string();
            if path == "ResponseValue :: from_response" {
                call.func = syn::parse_quote!(::api_tokens_runtime::hooks::decode);
                self.0 += 1;
            } else if path.ends_with("from_response") {
                self.1 += 1;
            }
        }

        fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
            syn::visit_mut::visit_expr_method_call_mut(self, call);
            if call.method == "from_response" {
                self.1 += 1;
            }
        }
    }
    let mut decode = Decode(0, 0);
    syn::visit_mut::VisitMut::visit_file_mut(&mut decode, file);
    // (An API whose answers are all empty has none to replace; a field or a doc that
    // says `from_response` is no call.)
    if decode.1 > 0 {
        return Err(format!(
            "{} `ResponseValue::from_response` calls replaced, and {} `from_response` calls of another form left",
            decode.0, decode.1
        ));
    }
    // `const _: () = { fn assert_client_hooks() where Client: ClientHooks<..> {} };`
    let before = file.items.len();
    file.items
        .retain(|item| !matches!(item, syn::Item::Const(c) if quote!(#c).to_string().contains("assert_client_hooks")));
    if file.items.len() + 1 != before {
        return Err("progenitor's `assert_client_hooks` was not found once".into());
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

#[cfg(test)]
mod tests {
    use crate::test_specs::{OK_RESPONSE, spec};

    /// progenitor's `dispatch` for the one operation of [`spec`], its hook calls as
    /// given.
    fn dispatch(hook_calls: proc_macro2::TokenStream) -> syn::File {
        syn::parse_quote! {
            pub mod builder {
                impl<'a> Op<'a> {
                    async fn dispatch(self) -> Result<ResponseValue<types::A>, Error<()>> {
                        let Self { client } = self;
                        let mut request = client.client.post("/t").build()?;
                        #hook_calls
                        match response.status().as_u16() {
                            200u16 => ResponseValue::from_response(response).await,
                            _ => Err(Error::UnexpectedResponse(response)),
                        }
                    }
                }
            }
            const _: () = {
                fn assert_client_hooks() where Client: ClientHooks<::api_tokens_runtime::ClientState> {}
            };
        }
    }

    #[test]
    fn an_api_whose_answers_are_all_empty_generates() {
        // Nothing to decode: no `from_response` to replace, and that is no failure.
        let yaml = spec(
            "      operationId: op\n      responses:\n        '204': {description: gone}",
            "",
        );
        let lowered = crate::lower::lower(serde_yaml::from_str(&yaml).expect("yaml"), "demo-tokens").expect("lower");
        let out = crate::emit::emit(&lowered, "specs/demo-tokens.yaml").expect("generates");
        assert!(out.contains("hooks::send(") && !out.contains("from_response"), "{out}");
    }

    #[test]
    fn a_field_or_a_doc_named_from_response_is_no_call() {
        let yaml = spec(&format!("      operationId: op\n{OK_RESPONSE}"), "").replace(
            "properties: {a: {type: string, description: The a.}}",
            "properties: {a: {type: string, description: The a (see from_response).}, fromResponse: {type: boolean, description: A flag.}}",
        );
        let lowered = crate::lower::lower(serde_yaml::from_str(&yaml).expect("yaml"), "demo-tokens").expect("lower");
        let out = crate::emit::emit(&lowered, "specs/demo-tokens.yaml").expect("generates");
        assert!(
            out.contains("pub from_response:") && out.contains("hooks::decode("),
            "{out}"
        );
    }

    #[test]
    fn sends_through_the_runtime_only_the_hook_calls_it_knows() {
        let yaml = spec(&format!("      operationId: op\n{OK_RESPONSE}"), "");
        let lowered = crate::lower::lower(serde_yaml::from_str(&yaml).expect("yaml"), "demo-tokens").expect("lower");
        let info = quote::quote!(let info = OperationInfo { operation_id: "op" };);
        // progenitor's hook calls, as it writes them.
        let hooked = quote::quote! {
            #info
            client.pre(&mut request, &info).await?;
            let result = client.exec(request, &info).await;
            client.post(&result, &info).await?;
            let response = result?;
        };
        let mut file = dispatch(hooked.clone());
        super::send_through_runtime(&mut file, &lowered).expect("progenitor's shape");
        let text = quote::quote!(#file).to_string();
        assert!(
            text.contains("let (status , response) = :: api_tokens_runtime :: hooks :: send"),
            "{text}"
        );
        assert!(
            text.contains("match status {") && text.contains("hooks :: decode (response)"),
            "{text}"
        );
        assert!(
            !text.contains("client . exec") && !text.contains("assert_client_hooks"),
            "{text}"
        );
        // A hook call dropped, or another added: refused, never half rewritten.
        for changed in [
            quote::quote! {
                #info
                client.pre(&mut request, &info).await?;
                let result = client.exec(request, &info).await;
                let response = result?;
            },
            quote::quote! {
                #info
                client.pre(&mut request, &info).await?;
                let result = client.exec(request, &info).await;
                client.post(&result, &info).await?;
                client.post(&result, &info).await?;
                let response = result?;
            },
        ] {
            let error = super::send_through_runtime(&mut dispatch(changed), &lowered).expect_err("changed");
            assert!(error.contains("hook calls are no longer"), "{error}");
        }
        // A decoding call of another form (a new path, a method) is refused, not left.
        for call in [
            quote::quote!(progenitor_client::ResponseValue::from_response(response)),
            quote::quote!(response.from_response()),
        ] {
            let mut file = dispatch(hooked.clone());
            file.items.push(syn::parse_quote!(fn other() { let _ = #call; }));
            let error = super::send_through_runtime(&mut file, &lowered).expect_err("another form");
            assert!(error.contains("of another form left"), "{error}");
        }
    }
}
