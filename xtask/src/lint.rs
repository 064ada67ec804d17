//! The rules a spec must follow for progenitor to take it, checked before progenitor
//! runs: progenitor answers many of these shapes with a panic or, worse, with silently
//! wrong types (see shared progenitor notes). Each problem names the operation and rule.

use openapiv3::{OpenAPI, Operation, Parameter, ParameterSchemaOrContent, QueryStyle, ReferenceOr, SchemaKind, Type};

use crate::spec::{self, MediaKind};

/// Every `x-sdk-*` key the xtask reads; any other is a typo that would be dropped in
/// silence.
pub const EXTENSIONS: [&str; 11] = [
    "x-sdk-body-fields",
    "x-sdk-credential",
    "x-sdk-envelope",
    "x-sdk-error-categories",
    "x-sdk-error-notes",
    "x-sdk-errors",
    "x-sdk-json",
    "x-sdk-place",
    "x-sdk-rust-type",
    "x-sdk-secret",
    "x-sdk-vendor-messages",
];

/// Every `x-sdk-*` key of the document that is not in [`EXTENSIONS`], with where it
/// stands (`paths./tokens.post`).
pub fn unknown_extensions(document: &serde_yaml::Value) -> Vec<(String, String)> {
    /// Every mapping key, with its dotted place (`paths./t.post`).
    fn walk(value: &serde_yaml::Value, at: &str, found: &mut Vec<(String, String)>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                for (key, child) in map {
                    let key = key.as_str().map_or_else(|| format!("{key:?}"), str::to_owned);
                    if key.starts_with("x-sdk-") && !EXTENSIONS.contains(&key.as_str()) {
                        found.push((
                            if at.is_empty() {
                                "(root)".to_owned()
                            } else {
                                at.to_owned()
                            },
                            key.clone(),
                        ));
                    }
                    let next = if at.is_empty() { key } else { format!("{at}.{key}") };
                    walk(child, &next, found);
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}[{i}]"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(document, "", &mut found);
    found
}

/// Every `$ref` that names nothing in the document, as `(owner, problem)`: the owner
/// is the operation (by `operationId`) or component the reference sits in, since
/// progenitor would only panic with the reference itself.
pub fn dangling_references(document: &serde_yaml::Value) -> Vec<(String, String)> {
    /// Whether a local reference (`#/components/…`, RFC 6901 escapes) names a node.
    fn resolves(document: &serde_yaml::Value, reference: &str) -> bool {
        let Some(pointer) = reference.strip_prefix("#/") else {
            return false;
        };
        let mut at = document;
        for token in pointer.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            match at.get(token.as_str()) {
                Some(next) => at = next,
                None => return false,
            }
        }
        true
    }
    /// Every `$ref` below `value`, with the operation or component that owns it.
    fn walk(document: &serde_yaml::Value, value: &serde_yaml::Value, owner: &str, found: &mut Vec<(String, String)>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                // An operation names itself; everything under it belongs to it.
                let owner = match map.get("operationId").and_then(serde_yaml::Value::as_str) {
                    Some(id) => format!("operation {id}"),
                    None => owner.to_owned(),
                };
                for (key, child) in map {
                    if key.as_str() == Some("$ref")
                        && let Some(reference) = child.as_str()
                        && !resolves(document, reference)
                    {
                        found.push((
                            owner.clone(),
                            format!("rule \"known references\": `{reference}` names nothing in this spec"),
                        ));
                    }
                    walk(document, child, &owner, found);
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for child in items {
                    walk(document, child, owner, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (section, value) in document.as_mapping().into_iter().flatten() {
        let section = section.as_str().unwrap_or_default();
        match (section, value.as_mapping()) {
            // `components.<kind>.<name>`: the component owns what is inside it.
            ("components", Some(kinds)) => {
                for (kind, entries) in kinds {
                    for (name, entry) in entries.as_mapping().into_iter().flatten() {
                        let owner = format!(
                            "component {}.{}",
                            kind.as_str().unwrap_or_default(),
                            name.as_str().unwrap_or_default()
                        );
                        walk(document, entry, &owner, &mut found);
                    }
                }
            }
            _ => walk(document, value, section, &mut found),
        }
    }
    found
}

/// All problems of a spec, or none: every rule is checked, so one run lists them all.
pub fn check(spec: &OpenAPI) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    // progenitor reads 3.0 only (through openapiv3); a 3.1 document half-parses.
    if !spec.openapi.starts_with("3.0.") {
        problems.push(format!(
            "rule \"OpenAPI 3.0.x\": version {} is not supported by progenitor",
            spec.openapi
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in spec.paths.paths.iter() {
        // progenitor resolves no `$ref` path item, and neither does `lower`.
        let ReferenceOr::Item(item) = item else {
            problems.push(format!(
                "path {path}: rule \"no $ref path items\": progenitor rejects them"
            ));
            continue;
        };
        for (method, op) in item.iter() {
            let name = op
                .operation_id
                .clone()
                .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
            let mut say =
                |rule: &str, what: String| problems.push(format!("operation {name}: rule \"{rule}\": {what}"));
            // The id names the method, the builder and the runtime's table: without one
            // progenitor invents a name, and two alike would be one method.
            match &op.operation_id {
                None => say("operationId", "every operation needs one".into()),
                Some(id) if !ids.insert(id.clone()) => say("operationId", format!("`{id}` is used twice")),
                Some(_) => {}
            }
            check_operation(spec, op, &mut say);
        }
    }
    check_descriptions(spec, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Every schema, property and parameter becomes a public type, field or setter of the
/// crate; its `description` is the only docs a reader gets, so none may be missing.
fn check_descriptions(spec: &OpenAPI, problems: &mut Vec<String>) {
    let described = |data: &openapiv3::SchemaData| data.description.as_deref().is_some_and(|d| !d.trim().is_empty());
    let rule = "described";
    let components = spec.components.as_ref();
    for (name, schema) in components.into_iter().flat_map(|c| &c.schemas) {
        let ReferenceOr::Item(schema) = schema else { continue };
        if !described(&schema.schema_data) {
            problems.push(format!(
                "schema {name}: rule \"{rule}\": add a description, the type's docs"
            ));
        }
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
            continue;
        };
        for (property, value) in &object.properties {
            match value {
                ReferenceOr::Reference { .. } => problems.push(format!(
                    "schema {name}: property {property}: rule \"{rule}\": a bare $ref cannot be described; write `description: …` beside `allOf: [$ref: …]`"
                )),
                ReferenceOr::Item(item) if !described(&item.schema_data) => problems.push(format!(
                    "schema {name}: property {property}: rule \"{rule}\": add a description, the field's docs"
                )),
                ReferenceOr::Item(_) => {}
            }
        }
    }
    let inline = spec
        .paths
        .paths
        .values()
        .filter_map(ReferenceOr::as_item)
        .flat_map(|item| {
            item.iter()
                .map(|(_, op)| op)
                .flat_map(|op| &op.parameters)
                .chain(&item.parameters)
        });
    let shared = components.into_iter().flat_map(|c| c.parameters.values());
    for param in inline.chain(shared) {
        let ReferenceOr::Item(param) = param else { continue };
        let data = param.parameter_data_ref();
        if data.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            problems.push(format!(
                "parameter {}: rule \"{rule}\": add a description, the setter's docs",
                data.name
            ));
        }
    }
}

/// The rules of one operation: request body, responses, parameters, security.
fn check_operation(spec: &OpenAPI, op: &Operation, say: &mut impl FnMut(&str, String)) {
    check_request_body(op, say);
    check_responses(spec, op, say);
    check_parameters(spec, op, say);
    check_security(spec, op, say);
}

/// progenitor takes one request media type, JSON or a form, whose schema is a named
/// component (the builder's `body` takes that type).
fn check_request_body(op: &Operation, say: &mut impl FnMut(&str, String)) {
    if let Some(body) = &op.request_body {
        match body {
            ReferenceOr::Reference { .. } => say(
                "inline request body",
                "use an inline requestBody whose schema is a $ref".into(),
            ),
            ReferenceOr::Item(body) => {
                // progenitor's builder has one `body` setter, of one type.
                if body.content.len() != 1 {
                    say(
                        "one request media type",
                        format!("found {}; progenitor panics on more", body.content.len()),
                    );
                }
                for (media, content) in &body.content {
                    // A form's own encoding (Fastly's repeated `services[]`) is a
                    // hand-written type's job (`x-sdk-rust-type`).
                    if !content.encoding.is_empty() {
                        say(
                            "no form encoding",
                            format!("{media}: progenitor panics on `encoding`; use x-sdk-rust-type"),
                        );
                    }
                    match spec::media_kind(media, content) {
                        MediaKind::Json | MediaKind::Form => {}
                        MediaKind::Other => say("request media type", format!("{media} is neither JSON nor a form")),
                    }
                    if !content.schema.as_ref().is_some_and(is_ref) {
                        say(
                            "named bodies",
                            format!("{media}: the body schema must be a $ref to a component"),
                        );
                    }
                }
            }
        }
    }
}

/// progenitor types one success and one error body per operation, each a named
/// component; several would be merged into an untyped value, or panic the generator.
fn check_responses(spec: &OpenAPI, op: &Operation, say: &mut impl FnMut(&str, String)) {
    let mut success = Vec::new();
    let mut failure = Vec::new();
    if op.responses.default.is_some() {
        say(
            "no default response",
            "progenitor takes `default` as both success and error; use 4XX/5XX or exact statuses".into(),
        );
    }
    for (status, response) in op.responses.responses.iter() {
        let Some(response) = spec::resolve_response(spec, response) else {
            say(
                "known responses",
                format!("{status}: the $ref names no component response"),
            );
            continue;
        };
        if response.content.len() > 1 {
            say(
                "one response media type",
                format!("{status}: found {}", response.content.len()),
            );
        }
        // The body's shape, compared below across statuses: `None` for a bodiless answer
        // (204), the schema's text otherwise.
        let shape = response.content.iter().next().map(|(media, content)| {
            if spec::media_kind(media, content) != MediaKind::Json {
                say(
                    "JSON responses",
                    format!("{status}: {media} would come back untyped; mark it `x-sdk-json: true` if it holds JSON"),
                );
            }
            match &content.schema {
                Some(schema) if is_ref(schema) || is_array_of_refs(schema) => format!("{schema:?}"),
                Some(_) => {
                    say(
                        "named bodies",
                        format!("{status}: the schema must be a $ref (or an array of $refs)"),
                    );
                    String::new()
                }
                None => {
                    say(
                        "schemas on JSON responses",
                        format!("{status}: progenitor panics on JSON without a schema"),
                    );
                    String::new()
                }
            }
        });
        let is_success = status.to_string().starts_with('2');
        if is_success {
            success.push(shape)
        } else {
            failure.push(shape)
        }
    }
    // Without a 2xx progenitor has no success type, and every answer would be an error.
    if success.is_empty() {
        say("a success response", "declare the 2xx answer".into());
    }
    // All shapes are equal exactly when one remains once repeated neighbours go.
    success.dedup();
    failure.dedup();
    if success.len() > 1 {
        say(
            "one success shape",
            "all 2xx responses must share one body schema, or all have none".into(),
        );
    }
    if failure.len() > 1 {
        say(
            "one error shape",
            "all error responses must share one body schema; progenitor merges or panics otherwise".into(),
        );
    }
}

/// Parameters progenitor cannot send, or would send where a secret must not go.
fn check_parameters(spec: &OpenAPI, op: &Operation, say: &mut impl FnMut(&str, String)) {
    for param in &op.parameters {
        let ReferenceOr::Item(param) = param else { continue };
        let data = param.parameter_data_ref();
        let secret = match &data.format {
            ParameterSchemaOrContent::Schema(schema) => spec::schema(spec, schema).is_some_and(spec::is_secret),
            _ => false,
        };
        match param {
            Parameter::Cookie { .. } => say(
                "no cookie parameters",
                format!("`{}`: progenitor rejects them; use a security scheme", data.name),
            ),
            Parameter::Query {
                style: QueryStyle::DeepObject,
                ..
            } => say("no deepObject", format!("`{}`", data.name)),
            // A `Secret` prints `<redacted>`, and progenitor formats headers and paths
            // with `to_string()`: the server would get the redaction, not the secret.
            Parameter::Header { .. } | Parameter::Path { .. } if secret => say(
                "no secret in headers or paths",
                format!(
                    "`{}`: progenitor would send the redacted text; model it as a security scheme",
                    data.name
                ),
            ),
            _ => {}
        }
    }
}

/// Every scheme an operation names exists: the runtime would otherwise find no way to
/// send the credential and fail every call at run time.
fn check_security(spec: &OpenAPI, op: &Operation, say: &mut impl FnMut(&str, String)) {
    let security = op.security.as_ref().or(spec.security.as_ref());
    let schemes = spec.components.as_ref().map(|c| &c.security_schemes);
    for requirement in security.into_iter().flatten() {
        for name in requirement.keys() {
            if !schemes.is_some_and(|s| s.contains_key(name)) {
                say(
                    "known security schemes",
                    format!("`{name}` is not in components.securitySchemes"),
                );
            }
        }
    }
}

/// A `$ref`: progenitor names the type after the component, where an inline schema
/// would get a made-up name users could not rely on.
fn is_ref<T>(schema: &ReferenceOr<T>) -> bool {
    matches!(schema, ReferenceOr::Reference { .. })
}

/// A list answer (`[TokenResponse]`), which progenitor types as a `Vec` of the component.
fn is_array_of_refs(schema: &ReferenceOr<openapiv3::Schema>) -> bool {
    match schema {
        ReferenceOr::Item(s) => match &s.schema_kind {
            SchemaKind::Type(Type::Array(array)) => array
                .items
                .as_ref()
                .is_some_and(|items| matches!(items, ReferenceOr::Reference { .. })),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests;
