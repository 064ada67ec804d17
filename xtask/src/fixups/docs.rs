//! Fix-ups of progenitor's docs: what a docs.rs reader sees must compile and read well.

use quote::quote;

use crate::model::Lowered;

/// progenitor documents each `Client` method with an ```` ```ignore ```` snippet that
/// compiles nowhere (its arguments are undeclared). Each becomes a `no_run` example that
/// compiles: the arguments are declared with the types the builder's setters take.
pub fn compile_examples(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    let krate = lowered.crate_name.replace('-', "_");
    // builder name → setter name → the type its value converts into.
    let mut setters: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> =
        Default::default();
    for item in super::module(file, "builder")?.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(name) = impl_name(imp) else { continue };
        for f in inherent_fns(imp) {
            if let Some(target) = setter_target(f) {
                setters
                    .entry(name.clone())
                    .or_default()
                    .insert(f.sig.ident.to_string(), target);
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

/// progenitor and typify leave undocumented what they add around the spec's types and
/// operations: builder constructors and setters, typify's builder structs, enum
/// variants, the catch-all field of an open object. Each gets docs from what it stands
/// for: a setter the docs of its field (typify's builders) or of its parameter (the
/// spec's `description`, which the lint requires), the rest a sentence of its own.
/// Fails on a setter whose field or parameter has no docs, so nothing public ends up
/// undocumented in silence.
pub fn document_builders(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    let mut documented = 0;
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        let Some((_, items)) = &mut m.content else { continue };
        match m.ident.to_string().as_str() {
            "types" => documented += document_types(items)?,
            "builder" => documented += document_operation_builders(items, &parameter_docs(lowered))?,
            _ => {}
        }
    }
    if documented == 0 {
        return Err("found nothing to document in `mod types` or `mod builder`".into());
    }
    Ok(())
}

/// Whether an item has docs already: progenitor's and typify's own, or the spec's,
/// always win over the sentences written here.
fn has_docs(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("doc"))
}

/// The text of the `///` lines of `attrs`, joined.
fn docs_of(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value: syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s), ..
                }),
                ..
            }) => Some(s.value()),
            _ => None,
        })
        .collect();
    lines.join("\n")
}

/// Docs go first, before `#[derive]`s and `#[serde]`s, where rustdoc expects them.
fn add_docs(attrs: &mut Vec<syn::Attribute>, text: &str) {
    attrs.insert(0, syn::parse_quote!(#[doc = #text]));
}

/// The value of `#[serde(rename = "…")]`, which for an enum variant is its wire form.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().filter(|a| a.path().is_ident("serde")).find_map(|a| {
        let mut found = None;
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                found = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            }
            Ok(())
        });
        found
    })
}

/// The type an inherent `impl` block is for (`CreateToken` of `impl<'a> CreateToken<'a>`);
/// `None` for trait impls, whose methods the trait documents.
fn impl_name(imp: &syn::ItemImpl) -> Option<String> {
    match &*imp.self_ty {
        syn::Type::Path(p) if imp.trait_.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The public methods of an `impl` block: private ones (`dispatch`) need no docs.
fn inherent_fns(imp: &mut syn::ItemImpl) -> impl Iterator<Item = &mut syn::ImplItemFn> {
    imp.items.iter_mut().filter_map(|i| match i {
        syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => Some(f),
        _ => None,
    })
}

/// `mod types`: `builder()`, enum variants, catch-all fields, and `mod types::builder`.
fn document_types(items: &mut [syn::Item]) -> Result<usize, String> {
    // struct name → field name → docs, for typify's builder setters.
    let mut field_docs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> =
        Default::default();
    let mut documented = 0;
    for item in items.iter_mut() {
        match item {
            syn::Item::Struct(st) => {
                for field in &mut st.fields {
                    let Some(name) = field.ident.as_ref().map(ToString::to_string) else {
                        continue;
                    };
                    if !has_docs(&field.attrs) && name == "extra" {
                        // typify's `#[serde(flatten)]` map of an object open to more fields.
                        add_docs(
                            &mut field.attrs,
                            "Fields the spec does not name, as the server sent them.",
                        );
                        documented += 1;
                    }
                    field_docs
                        .entry(st.ident.to_string())
                        .or_default()
                        .insert(name, docs_of(&field.attrs));
                }
            }
            syn::Item::Enum(en) => {
                for variant in &mut en.variants {
                    if has_docs(&variant.attrs) {
                        continue;
                    }
                    let wire = serde_rename(&variant.attrs).unwrap_or_else(|| variant.ident.to_string());
                    add_docs(&mut variant.attrs, &format!("`{wire}` on the wire."));
                    documented += 1;
                }
            }
            syn::Item::Impl(imp) => {
                let Some(name) = impl_name(imp) else { continue };
                for f in inherent_fns(imp) {
                    if f.sig.ident == "builder" && !has_docs(&f.attrs) {
                        let text = format!("A [`builder::{name}`] with no field set yet.");
                        add_docs(&mut f.attrs, &text);
                        documented += 1;
                    }
                }
            }
            _ => {}
        }
    }
    for item in items.iter_mut() {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for item in m.content.iter_mut().flat_map(|(_, items)| items) {
            match item {
                syn::Item::Struct(st) if !has_docs(&st.attrs) => {
                    let text = format!(
                        "Builds [`{name}`](super::{name}) values field by field; converting one (`try_into()`, or passing it as a request body) fails if a required field is unset.",
                        name = st.ident
                    );
                    add_docs(&mut st.attrs, &text);
                    documented += 1;
                }
                syn::Item::Impl(imp) => {
                    let Some(name) = impl_name(imp) else { continue };
                    for f in inherent_fns(imp) {
                        if has_docs(&f.attrs) {
                            continue;
                        }
                        let field = f.sig.ident.to_string();
                        let docs = field_docs
                            .get(&name)
                            .and_then(|fields| fields.get(&field))
                            .filter(|d| !d.trim().is_empty())
                            .ok_or(format!("builder `{name}`: setter `{field}` has no documented field"))?;
                        add_docs(&mut f.attrs, docs.trim());
                        documented += 1;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(documented)
}

/// operation id (snake_case) → parameter (snake_case) → its spec description.
fn parameter_docs(lowered: &Lowered) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut docs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> = Default::default();
    for item in lowered
        .spec
        .paths
        .paths
        .values()
        .filter_map(openapiv3::ReferenceOr::as_item)
    {
        for (_, op) in item.iter() {
            let Some(id) = &op.operation_id else { continue };
            let params = docs.entry(crate::spec::snake_case(id)).or_default();
            for param in item.parameters.iter().chain(&op.parameters) {
                let Some(param) = crate::spec::parameter(&lowered.spec, param) else {
                    continue;
                };
                let data = param.parameter_data_ref();
                if let Some(description) = &data.description {
                    params.insert(crate::spec::snake_case(&data.name), description.trim().to_owned());
                }
            }
        }
    }
    docs
}

/// `mod builder`: each operation builder's `new`, parameter setters, `body`, `body_map`.
fn document_operation_builders(
    items: &mut [syn::Item],
    parameters: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
) -> Result<usize, String> {
    let mut documented = 0;
    for item in items.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let id = imp
            .items
            .iter()
            .find_map(|i| match i {
                syn::ImplItem::Fn(f) => super::requests::operation_id(f),
                _ => None,
            })
            .ok_or("an operation builder without `operation_id`")?;
        for f in inherent_fns(imp) {
            if has_docs(&f.attrs) {
                continue;
            }
            let name = f.sig.ident.to_string();
            let text = match name.as_str() {
                "new" => format!("Starts the request on `client`, as [`Client::{id}`](super::Client::{id}) does."),
                "body" => {
                    let target = setter_target(f).ok_or(format!("`{id}`: `body` without a `TryInto` bound"))?;
                    format!("The request body: a [`{target}`], or what converts into one, such as its builder.")
                }
                "body_map" => {
                    "Changes the request body field by field through its builder, starting from what was set so far."
                        .to_owned()
                }
                _ => parameters
                    .get(&id)
                    .and_then(|p| p.get(&name))
                    .cloned()
                    .ok_or(format!("`{id}`: setter `{name}` matches no described parameter"))?,
            };
            add_docs(&mut f.attrs, &text);
            documented += 1;
        }
    }
    Ok(documented)
}

/// `T` of a setter's `where V: TryInto<T>`, as written (`types::Body`,
/// `::std::string::String`).
fn setter_target(f: &syn::ImplItemFn) -> Option<String> {
    let clause = f.sig.generics.where_clause.as_ref()?;
    clause.predicates.iter().find_map(|p| {
        let syn::WherePredicate::Type(t) = p else { return None };
        t.bounds.iter().find_map(|b| {
            let syn::TypeParamBound::Trait(tr) = b else { return None };
            let last = tr.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            let first = args.args.first()?;
            (last.ident == "TryInto").then(|| type_text(&quote!(#first).to_string()))
        })
    })
}

/// A type as a person writes it: `quote!` spaces every token (`:: std :: string`).
fn type_text(tokens: &str) -> String {
    tokens
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
}
