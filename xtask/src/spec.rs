//! Reading a spec: the lookups that `lint` (before progenitor) and `lower` (which
//! builds the tables) both need, so that the two steps never disagree on what a `$ref`,
//! a secret or a JSON body is.

use openapiv3::VariantOrUnknownOrEmpty;
use openapiv3::{MediaType, OpenAPI, Parameter, ReferenceOr, Response, Schema, SchemaKind, StringFormat, Type};
use serde_json::Value;

/// How a media type's body is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Json,
    Form,
    Other,
}

/// Classifies a media type: JSON (plain, `+json`, or marked `x-sdk-json: true`, for
/// vendors that answer JSON under another name), a form, or other.
pub fn media_kind(media: &str, content: &MediaType) -> MediaKind {
    let essence = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let marked = content.extensions.get("x-sdk-json") == Some(&Value::Bool(true));
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) || marked {
        MediaKind::Json
    } else if essence == "application/x-www-form-urlencoded" {
        MediaKind::Form
    } else {
        MediaKind::Other
    }
}

/// The schema a property or body stands for. A `$ref` is followed, and so is an
/// `allOf` of one `$ref`: OpenAPI 3.0 ignores a `description` beside a `$ref`, so a
/// property that needs its own description (it becomes the field's docs) wraps the
/// reference in `allOf`.
pub fn schema<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> Option<&'a Schema> {
    let item = match schema {
        ReferenceOr::Item(item) => item,
        ReferenceOr::Reference { reference } => return component_schema(spec, reference),
    };
    match &item.schema_kind {
        SchemaKind::AllOf { all_of } if all_of.len() == 1 => self::schema(spec, &all_of[0]),
        _ => Some(item),
    }
}

/// [`schema`] for a boxed property.
pub fn property<'a>(spec: &'a OpenAPI, property: &'a ReferenceOr<Box<Schema>>) -> Option<&'a Schema> {
    match property {
        ReferenceOr::Item(item) => match &item.schema_kind {
            SchemaKind::AllOf { all_of } if all_of.len() == 1 => schema(spec, &all_of[0]),
            _ => Some(item.as_ref()),
        },
        ReferenceOr::Reference { reference } => component_schema(spec, reference),
    }
}

/// The component a `#/components/schemas/…` reference names.
pub fn component_schema<'a>(spec: &'a OpenAPI, reference: &str) -> Option<&'a Schema> {
    let name = reference.strip_prefix("#/components/schemas/")?;
    spec.components.as_ref()?.schemas.get(name)?.as_item()
}

/// A value the runtime must never print: `format: password`, or `x-sdk-secret: true`
/// on a shape that cannot say so (TigerGraph's comma-separated token list).
pub fn is_secret(schema: &Schema) -> bool {
    let password = matches!(&schema.schema_kind, SchemaKind::Type(Type::String(s)) if s.format == VariantOrUnknownOrEmpty::Item(StringFormat::Password));
    password || schema.schema_data.extensions.get("x-sdk-secret") == Some(&Value::Bool(true))
}

/// The parameter a `#/components/parameters/…` reference or an inline item stands for.
pub fn parameter<'a>(spec: &'a OpenAPI, param: &'a ReferenceOr<Parameter>) -> Option<&'a Parameter> {
    match param {
        ReferenceOr::Item(p) => Some(p),
        ReferenceOr::Reference { reference } => reference
            .strip_prefix("#/components/parameters/")
            .and_then(|name| spec.components.as_ref()?.parameters.get(name))
            .and_then(|p| p.as_item()),
    }
}

/// The response a `$ref` (to `#/components/responses/…`) or inline item stands for.
pub fn resolve_response<'a>(spec: &'a OpenAPI, response: &'a ReferenceOr<Response>) -> Option<&'a Response> {
    match response {
        ReferenceOr::Item(item) => Some(item),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/responses/")?;
            match spec.components.as_ref()?.responses.get(name)? {
                ReferenceOr::Item(item) => Some(item),
                ReferenceOr::Reference { .. } => None,
            }
        }
    }
}

/// progenitor's names for operations and parameters: snake_case of the spec's
/// (`requestTokenQuery` → `request_token_query`, `X-Otp` → `x_otp`).
pub fn snake_case(id: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in id.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = true;
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}
