//! Fix-ups of what progenitor makes public: users see the runtime's error and the
//! checked `Client::builder`, never progenitor's raw versions.

use quote::quote;

use crate::model::Lowered;

/// progenitor re-exports its `Error`; make that import private so the crate's public
/// `Error` is the runtime's.
pub fn hide_progenitor_error(file: &mut syn::File, _: &Lowered) -> Result<(), String> {
    for item in &mut file.items {
        let syn::Item::Use(item_use) = item else { continue };
        let text = quote!(#item_use).to_string();
        if matches!(item_use.vis, syn::Visibility::Public(_))
            && text.contains("progenitor_client")
            && text.contains("Error")
        {
            let public = quote!(
                pub use progenitor_client::{ByteStream, ClientInfo, ResponseValue};
            );
            let private = quote!(
                use progenitor_client::Error;
            );
            *item = syn::parse2(public).map_err(|e| e.to_string())?;
            file.items.push(syn::parse2(private).map_err(|e| e.to_string())?);
            return Ok(());
        }
    }
    Err("progenitor's `pub use progenitor_client::{.., Error, ..}` was not found".into())
}

/// progenitor's `Client::new` unwraps, and it and `new_with_client` skip the builder's
/// checks (base URL, credentials, TLS, timeouts, redirects): users get `Client::builder`
/// only. `new` goes; `new_with_client`, which the builder calls, becomes crate-private.
pub fn hide_raw_constructors(file: &mut syn::File, _: &Lowered) -> Result<(), String> {
    let client_impl = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Impl(imp)
                if imp.trait_.is_none() && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client")) =>
            {
                Some(imp)
            }
            _ => None,
        })
        .ok_or("progenitor's `impl Client` was not found")?;
    let before = client_impl.items.len();
    client_impl
        .items
        .retain(|item| !matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == "new"));
    let removed = before - client_impl.items.len();
    let with_client = client_impl.items.iter_mut().find_map(|item| match item {
        syn::ImplItem::Fn(f) if f.sig.ident == "new_with_client" => Some(f),
        _ => None,
    });
    match (removed, with_client) {
        (1, Some(f)) => {
            f.vis = syn::parse_quote!(pub(crate));
            Ok(())
        }
        _ => Err("`Client::new` or `Client::new_with_client` was not found".into()),
    }
}

/// A vendor adds fields to its answers, and a crate that follows adds them to its
/// types: with the types open to struct literals and exhaustive matches, every such
/// addition would break users' code. Types that appear only in answers (success or
/// error bodies) become `#[non_exhaustive]`; request bodies, which users write as
/// struct literals, stay as they are (typify's builders serve both).
pub fn close_answer_types(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    let requests = request_schemas(&lowered.spec);
    let components = lowered.spec.components.as_ref();
    let generated: std::collections::BTreeSet<String> = components
        .into_iter()
        .flat_map(|c| &c.schemas)
        .filter(|(_, schema)| {
            schema
                .as_item()
                .is_some_and(|s| !s.schema_data.extensions.contains_key("x-sdk-rust-type"))
        })
        .map(|(name, _)| name.clone())
        .collect();
    let types = super::module(file, "types")?;
    let mut closed = std::collections::BTreeSet::new();
    for item in types.iter_mut() {
        let (name, attrs) = match item {
            syn::Item::Struct(st) if matches!(st.fields, syn::Fields::Named(_)) => {
                (st.ident.to_string(), &mut st.attrs)
            }
            syn::Item::Enum(en) => (en.ident.to_string(), &mut en.attrs),
            _ => continue,
        };
        if generated.contains(&name) && !requests.contains(&name) {
            attrs.push(syn::parse_quote!(#[non_exhaustive]));
            closed.insert(name);
        }
    }
    let missed: Vec<&String> = generated
        .iter()
        .filter(|name| !requests.contains(*name) && !closed.contains(*name))
        .filter(|name| {
            // Plain strings and numbers give no type of their own.
            components
                .and_then(|c| c.schemas.get(*name))
                .and_then(|s| s.as_item())
                .is_some_and(|s| {
                    matches!(
                        s.schema_kind,
                        openapiv3::SchemaKind::Type(openapiv3::Type::Object(_))
                    ) || matches!(&s.schema_kind, openapiv3::SchemaKind::Type(openapiv3::Type::String(t)) if !t.enumeration.is_empty())
                })
        })
        .collect();
    if !missed.is_empty() {
        return Err(format!("no struct or enum generated for answer schemas {missed:?}"));
    }
    Ok(())
}

/// The component schemas a request body can hold, directly or nested.
fn request_schemas(spec: &openapiv3::OpenAPI) -> std::collections::BTreeSet<String> {
    /// Every component `value` refers to, and theirs in turn (each visited once).
    fn visit(spec: &openapiv3::OpenAPI, value: &serde_json::Value, found: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && found.insert(name.to_owned())
                    && let Some(schema) = spec.components.as_ref().and_then(|c| c.schemas.get(name))
                    && let Ok(schema) = serde_json::to_value(schema)
                {
                    visit(spec, &schema, found);
                }
                for child in map.values() {
                    visit(spec, child, found);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|child| visit(spec, child, found)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    for item in spec.paths.paths.values().filter_map(openapiv3::ReferenceOr::as_item) {
        for (_, op) in item.iter() {
            if let Some(body) = &op.request_body
                && let Ok(body) = serde_json::to_value(body)
            {
                visit(spec, &body, &mut found);
            }
        }
    }
    found
}
