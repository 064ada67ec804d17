//! Fix-ups of progenitor's docs: what a docs.rs reader sees must compile and read well.

use quote::quote;

use crate::lower::Lowered;

/// progenitor documents each `Client` method with an ```` ```ignore ```` snippet that
/// compiles nowhere (its arguments are undeclared). Each becomes a `no_run` example that
/// compiles: the arguments are declared with the types the builder's setters take.
pub fn compile_examples(file: &mut syn::File, l: &Lowered) -> Result<(), String> {
    let krate = l.crate_name.replace('-', "_");
    let tidy = |tokens: String| {
        tokens
            .replace(" :: ", "::")
            .replace(":: ", "::")
            .replace(" < ", "<")
            .replace("< ", "<")
            .replace(" >", ">")
            .replace(" ,", ",")
    };
    // builder name → setter name → the type its value converts into.
    let mut setters: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> =
        Default::default();
    for item in &file.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for item in m.content.iter().flat_map(|(_, items)| items) {
            let syn::Item::Impl(imp) = item else { continue };
            let syn::Type::Path(path) = &*imp.self_ty else { continue };
            let Some(name) = path.path.segments.last().map(|s| s.ident.to_string()) else {
                continue;
            };
            for f in imp.items.iter().filter_map(|i| match i {
                syn::ImplItem::Fn(f) => Some(f),
                _ => None,
            }) {
                let Some(clause) = &f.sig.generics.where_clause else {
                    continue;
                };
                let target = clause.predicates.iter().find_map(|p| {
                    let syn::WherePredicate::Type(t) = p else { return None };
                    t.bounds.iter().find_map(|b| {
                        let syn::TypeParamBound::Trait(tr) = b else { return None };
                        let last = tr.path.segments.last()?;
                        if last.ident != "TryInto" {
                            return None;
                        }
                        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                            return None;
                        };
                        args.args.first().map(|a| tidy(quote!(#a).to_string()))
                    })
                });
                if let Some(target) = target {
                    setters
                        .entry(name.clone())
                        .or_default()
                        .insert(f.sig.ident.to_string(), target);
                }
            }
        }
    }
    let mut rewritten = 0;
    let mut snippets = 0;
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || !matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client")) {
            continue;
        }
        for f in imp.items.iter_mut().filter_map(|i| match i {
            syn::ImplItem::Fn(f) => Some(f),
            _ => None,
        }) {
            let builder = match &f.sig.output {
                syn::ReturnType::Type(_, ty) => match &**ty {
                    syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                },
                _ => None,
            };
            let method = f.sig.ident.to_string();
            for attr in &mut f.attrs {
                let syn::Meta::NameValue(nv) = &mut attr.meta else {
                    continue;
                };
                let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(doc),
                    ..
                }) = &mut nv.value
                else {
                    continue;
                };
                let text = doc.value();
                let Some((before, rest)) = text.split_once("```ignore\n") else {
                    continue;
                };
                snippets += 1;
                let Some((snippet, after)) = rest.split_once("```") else {
                    continue;
                };
                let types = builder.as_ref().and_then(|b| setters.get(b));
                let mut params = Vec::new();
                let mut calls = Vec::new();
                for line in snippet.lines().map(str::trim) {
                    let Some(call) = line.strip_prefix('.') else { continue };
                    let Some((setter, arg)) = call.trim_end_matches(')').split_once('(') else {
                        continue;
                    };
                    if matches!(setter, "send" | "await") || arg.is_empty() {
                        continue;
                    }
                    let ty = types
                        .and_then(|t| t.get(setter))
                        .ok_or(format!("no setter `{setter}` on the builder of `{method}`"))?;
                    params.push(format!("{arg}: {ty}"));
                    calls.push(format!("    .{setter}({arg})\n"));
                }
                let example = format!(
                    "```rust,no_run\n# use {krate}::*;\n# async fn example(client: &Client{}{}) -> Result<(), Error> {{\nlet response = client.{method}()\n{}    .send()\n    .await?;\n# let _ = response;\n# Ok(())\n# }}\n```",
                    if params.is_empty() { "" } else { ", " },
                    params.join(", "),
                    calls.concat()
                );
                *doc = syn::LitStr::new(&format!("{before}{example}{after}"), doc.span());
                rewritten += 1;
            }
        }
    }
    if snippets == 0 || rewritten != snippets {
        return Err(format!("rewrote {rewritten} of {snippets} `ignore` examples"));
    }
    Ok(())
}
