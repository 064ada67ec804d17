//! Turns a vendor spec into what progenitor can take, plus the tables for what it
//! cannot express. Every quirk comes from the spec (standard fields or the `x-sdk-*`
//! keys that specs/README.md defines), never from a list of operations here.

use openapiv3::{APIKeyLocation, OpenAPI, ReferenceOr, SecurityScheme};
use serde_json::Value;

use crate::model::{CategoryRow, CredentialRow, Envelope, Lowered, OperationRow, Place, SchemeRow, SecretInput};
use crate::spec::{self, MediaKind, is_secret, media_kind, resolve_response, snake_case};

/// Lowers a linted spec for `crate_name`: the tables first (they read the spec as
/// written), then each operation, rewritten in place for progenitor.
pub fn lower(mut spec: OpenAPI, crate_name: &str) -> Result<Lowered, String> {
    let vendor = spec.info.title.clone();
    // A server with variables (`https://{host}`) is no default: the user must say.
    let default_base_url = spec
        .servers
        .first()
        .map(|s| s.url.clone())
        .filter(|u| u.starts_with("http") && !u.contains('{'));
    let (error_code, error_message) = error_fields(&spec)?;
    let vendor_messages = vendor_messages(&spec)?;
    let categories = error_categories(&spec)?;
    let root_envelope = spec.extensions.get("x-sdk-envelope").map(envelope).transpose()?;
    let (schemes, credentials) = schemes(&spec)?;
    let replacements = replacements(&spec)?;
    let root_security = spec.security.clone().unwrap_or_default();
    // References are resolved against the components while `spec.paths` is borrowed
    // mutably for the rewrites below.
    let components_only = OpenAPI {
        components: spec.components.clone(),
        ..OpenAPI::default()
    };
    let mut operations = Vec::new();
    for (path, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        let path_level = item.parameters.clone();
        let methods = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ];
        for (method, op) in methods.into_iter().filter_map(|(m, op)| op.as_mut().map(|op| (m, op))) {
            let context = Context {
                spec: &components_only,
                path,
                path_level: &path_level,
                root_security: &root_security,
                root_envelope: root_envelope.as_ref(),
            };
            operations.push(operation(&context, method, op)?);
        }
    }
    Ok(Lowered {
        spec,
        crate_name: crate_name.to_owned(),
        vendor,
        vendor_messages,
        categories,
        default_base_url,
        schemes,
        credentials,
        error_code,
        error_message,
        operations,
        replacements,
    })
}

/// What an operation inherits from the document around it.
struct Context<'a> {
    /// The components, to resolve references.
    spec: &'a OpenAPI,
    /// The path key, with its `#fragment` if any.
    path: &'a str,
    path_level: &'a [ReferenceOr<openapiv3::Parameter>],
    root_security: &'a [openapiv3::SecurityRequirement],
    root_envelope: Option<&'a Envelope>,
}

/// One operation's table; rewrites its JSON-like media types for progenitor and inlines
/// its component responses (progenitor resolves neither).
fn operation(context: &Context, method: &str, op: &mut openapiv3::Operation) -> Result<OperationRow, String> {
    let id = op.operation_id.clone().ok_or("operation without operationId")?;
    let security = op.security.as_deref().unwrap_or(context.root_security);
    let security = security.iter().map(|req| req.keys().cloned().collect()).collect();
    let secret_inputs = secret_inputs(context.spec, op);
    let (path_params, required_query) = checked_params(context.spec, context.path_level, op);
    // progenitor only types `application/json`; the vendor's own JSON media type (and
    // a form's) goes on the wire as the runtime's `Content-Type`.
    let mut content_type = None;
    if let Some(ReferenceOr::Item(body)) = &mut op.request_body {
        content_type = rewrite_json(&mut body.content).filter(|m| m != "application/json");
    }
    // progenitor sends `Accept: application/json`; a vendor that versions by media type
    // (ICA's `application/vnd.illumina.v3+json`) needs its own, which the runtime sets.
    let mut success_media = Vec::new();
    for (status, response) in op.responses.responses.iter_mut() {
        if let Some(inlined) = resolve_response(context.spec, response).cloned() {
            *response = ReferenceOr::Item(inlined);
        }
        // A response that stayed a reference names no component; the lint reports it.
        let ReferenceOr::Item(response) = response else {
            continue;
        };
        if let Some(original) = rewrite_json(&mut response.content)
            && status.to_string().starts_with('2')
            && !success_media.contains(&original)
        {
            success_media.push(original);
        }
    }
    let accept = Some(success_media.join(", ")).filter(|a| !a.is_empty() && a != "application/json");
    Ok(OperationRow {
        id: snake_case(&id),
        method: method.to_uppercase(),
        // A `#fragment` only tells apart operations that share a wire path.
        path: context.path.split('#').next().unwrap_or(context.path).to_owned(),
        path_params,
        required_query,
        security,
        content_type,
        accept,
        envelope: operation_envelope(op, context.root_envelope).map_err(|e| format!("operation {id}: {e}"))?,
        notes: error_notes(op).map_err(|e| format!("operation {id}: {e}"))?,
        secret_inputs,
    })
}

/// `x-sdk-vendor-messages`: messages the vendor writes itself, never scrubbed as echoes.
fn vendor_messages(spec: &OpenAPI) -> Result<Vec<String>, String> {
    match spec.extensions.get("x-sdk-vendor-messages") {
        None => Ok(Vec::new()),
        Some(value) => value
            .as_array()
            .and_then(|list| list.iter().map(|m| m.as_str().map(str::to_owned)).collect())
            .ok_or("x-sdk-vendor-messages must be a list of strings".into()),
    }
}

/// `x-sdk-envelope` on an operation: its own, none (`null`), or the document's.
fn operation_envelope(op: &openapiv3::Operation, root: Option<&Envelope>) -> Result<Option<Envelope>, String> {
    match op.extensions.get("x-sdk-envelope") {
        Some(Value::Null) => Ok(None),
        Some(value) => envelope(value).map(Some),
        None => Ok(root.cloned()),
    }
}

/// `x-sdk-error-notes`: a vendor code or message → a word more for the user.
fn error_notes(op: &openapiv3::Operation) -> Result<Vec<(String, String)>, String> {
    const SHAPE: &str = "x-sdk-error-notes maps messages to strings";
    match op.extensions.get("x-sdk-error-notes") {
        None => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(message, note)| note.as_str().map(|n| (message.clone(), n.to_owned())))
            .collect::<Option<_>>()
            .ok_or(SHAPE.into()),
        Some(_) => Err(SHAPE.into()),
    }
}

/// The builder field names (snake_case, as progenitor names them) of the path
/// parameters, and of the required query parameters: the arguments the runtime checks
/// before sending, since a bad one would reach another endpoint or send an empty value.
fn checked_params(
    spec: &OpenAPI,
    path_level: &[ReferenceOr<openapiv3::Parameter>],
    op: &openapiv3::Operation,
) -> (Vec<String>, Vec<String>) {
    let (mut path, mut query) = (Vec::new(), Vec::new());
    for param in path_level
        .iter()
        .chain(&op.parameters)
        .filter_map(|p| spec::parameter(spec, p))
    {
        match param {
            openapiv3::Parameter::Path { parameter_data, .. } => path.push(snake_case(&parameter_data.name)),
            openapiv3::Parameter::Query { parameter_data, .. } if parameter_data.required => {
                query.push(snake_case(&parameter_data.name))
            }
            _ => {}
        }
    }
    (path, query)
}

/// Where an operation's request carries secrets the user typed (query parameters, form
/// fields, JSON fields): the runtime scrubs their values from any error, since a vendor
/// may echo its request back.
fn secret_inputs(spec: &OpenAPI, op: &openapiv3::Operation) -> Vec<SecretInput> {
    let mut inputs = Vec::new();
    for param in &op.parameters {
        let param = spec::parameter(spec, param);
        let Some(openapiv3::Parameter::Query { parameter_data, .. }) = param else {
            continue;
        };
        if let openapiv3::ParameterSchemaOrContent::Schema(s) = &parameter_data.format
            && spec::schema(spec, s).is_some_and(is_secret)
        {
            inputs.push(SecretInput::Query(parameter_data.name.clone()));
        }
    }
    let Some(ReferenceOr::Item(body)) = &op.request_body else {
        return inputs;
    };
    for (media, content) in &body.content {
        let form = media_kind(media, content) == MediaKind::Form;
        let Some(body_schema) = content.schema.as_ref().and_then(|s| spec::schema(spec, s)) else {
            continue;
        };
        // A form is flat; JSON nests (Insight.io's `/info/accessToken`), within reason.
        let mut pointers = Vec::new();
        secret_properties(
            spec,
            body_schema,
            String::new(),
            if form { 1 } else { 8 },
            &mut pointers,
        );
        inputs.extend(pointers.into_iter().map(|pointer| {
            if form {
                SecretInput::FormField(pointer.trim_start_matches('/').to_owned())
            } else {
                SecretInput::JsonPointer(pointer)
            }
        }));
    }
    inputs
}

/// JSON pointers to the secret properties of an object schema, nested objects included
/// down to `depth` levels (a provider login's `/info/accessToken`).
fn secret_properties(spec: &OpenAPI, object: &openapiv3::Schema, at: String, depth: usize, found: &mut Vec<String>) {
    let openapiv3::SchemaKind::Type(openapiv3::Type::Object(object)) = &object.schema_kind else {
        return;
    };
    if depth == 0 {
        return;
    }
    for (name, property) in &object.properties {
        // A dangling reference is the lint's to report; here it holds no secret.
        let Some(property) = spec::property(spec, property) else {
            continue;
        };
        // RFC 6901: `~` and `/` in a name are escaped.
        let pointer = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
        if is_secret(property) {
            found.push(pointer);
        } else {
            secret_properties(spec, property, pointer, depth - 1, found);
        }
    }
}

/// Renames the single JSON-like media type to `application/json` and returns the
/// original; `None` (and nothing renamed) for forms and other media types.
fn rewrite_json(content: &mut openapiv3::Content) -> Option<String> {
    let (media, value) = content.iter().next().map(|(m, v)| (m.clone(), v.clone()))?;
    if media_kind(&media, &value) != MediaKind::Json {
        return None;
    }
    content.clear();
    content.insert("application/json".to_owned(), value);
    Some(media)
}

/// A list of JSON pointers (RFC 6901), as `x-sdk-errors` gives them.
fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    let list = value
        .and_then(Value::as_array)
        .ok_or(format!("{what} must be a list of JSON pointers"))?;
    list.iter()
        .map(|v| {
            v.as_str()
                .filter(|s| s.starts_with('/'))
                .map(str::to_owned)
                .ok_or(format!("{what}: `{v}` is not a JSON pointer"))
        })
        .collect()
}

/// `x-sdk-errors`: where a vendor error body keeps its code and its message, each a
/// list of pointers tried in order (a vendor with several error shapes lists one each).
/// Required: without it no error could keep the vendor's words.
fn error_fields(spec: &OpenAPI) -> Result<(Vec<String>, Vec<String>), String> {
    let errors = spec
        .extensions
        .get("x-sdk-errors")
        .ok_or("rule \"x-sdk-errors\": say where error bodies keep their code and message")?;
    Ok((
        strings(errors.get("code"), "x-sdk-errors.code")?,
        strings(errors.get("message"), "x-sdk-errors.message")?,
    ))
}

/// `x-sdk-error-categories`: a map from category (`not_found`, `expired`, `refused`,
/// `endpoint_absent`) to the `statuses`, `codes` and message fragments (`messages`)
/// that put a vendor error in it. Rules are tried in the categories' alphabetical
/// order (how the extension's map is read), so a spec never depends on key order.
fn error_categories(spec: &OpenAPI) -> Result<Vec<CategoryRow>, String> {
    const KNOWN: [(&str, &str); 5] = [
        ("address_bound", "AddressBound"),
        ("not_found", "NotFound"),
        ("expired", "Expired"),
        ("refused", "Refused"),
        ("endpoint_absent", "EndpointAbsent"),
    ];
    let Some(map) = spec.extensions.get("x-sdk-error-categories") else {
        return Ok(Vec::new());
    };
    let map = map
        .as_object()
        .ok_or("x-sdk-error-categories must map categories to rules")?;
    let mut rows = Vec::new();
    for (name, rule) in map {
        let category = KNOWN
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, variant)| (*variant).to_owned())
            .ok_or(format!(
                "x-sdk-error-categories: unknown category `{name}` (known: not_found, expired, refused, endpoint_absent)"
            ))?;
        let list = |key: &str| -> Result<Vec<Value>, String> {
            match rule.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => Ok(items.clone()),
                Some(_) => Err(format!("x-sdk-error-categories.{name}.{key} must be a list")),
            }
        };
        let statuses = list("statuses")?
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| (100..600).contains(n))
            })
            .collect::<Option<Vec<u16>>>()
            .ok_or(format!("x-sdk-error-categories.{name}.statuses must be HTTP statuses"))?;
        let strings = |key: &str| -> Result<Vec<String>, String> {
            list(key)?
                .iter()
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or(format!("x-sdk-error-categories.{name}.{key} must be non-empty strings"))
        };
        rows.push(CategoryRow {
            category,
            statuses,
            codes: strings("codes")?,
            messages: strings("messages")?,
        });
    }
    Ok(rows)
}

/// Reads an `x-sdk-envelope` value: vendors that answer HTTP 200 with a failure inside
/// (TigerGraph's `"error": true`, DoCluster's `status`) say where, and which values mean
/// success; only booleans and strings, since that is all such fields hold.
fn envelope(value: &Value) -> Result<Envelope, String> {
    let field = value
        .get("field")
        .and_then(Value::as_str)
        .filter(|f| f.starts_with('/'))
        .ok_or("x-sdk-envelope.field must be a JSON pointer")?;
    let success = value
        .get("success")
        .and_then(Value::as_array)
        .ok_or("x-sdk-envelope.success must be a list")?;
    if success.iter().any(|v| !(v.is_boolean() || v.is_string())) {
        return Err("x-sdk-envelope.success holds booleans and strings only".into());
    }
    Ok(Envelope {
        field: field.to_owned(),
        success: success.clone(),
    })
}

/// The security schemes, and the credentials they send: the client builder has one
/// setter per credential, and the runtime one `wire::Scheme` per scheme.
fn schemes(spec: &OpenAPI) -> Result<(Vec<SchemeRow>, Vec<CredentialRow>), String> {
    let mut rows = Vec::new();
    let mut credentials: Vec<CredentialRow> = Vec::new();
    let Some(components) = &spec.components else {
        return Ok((rows, credentials));
    };
    for (name, scheme) in &components.security_schemes {
        let ReferenceOr::Item(scheme) = scheme else {
            return Err(format!("security scheme {name}: no $ref"));
        };
        let (place, description, extensions) = match scheme {
            SecurityScheme::APIKey {
                location,
                name: key,
                description,
                extensions,
            } => (
                api_key_place(name, location, key, extensions.get("x-sdk-place"))?,
                description,
                extensions,
            ),
            SecurityScheme::HTTP {
                scheme: kind,
                description,
                extensions,
                ..
            } => {
                let place = match kind.to_ascii_lowercase().as_str() {
                    "basic" => Place::Basic,
                    "bearer" => Place::Bearer,
                    other => {
                        return Err(format!(
                            "security scheme {name}: http scheme `{other}` is not supported"
                        ));
                    }
                };
                (place, description, extensions)
            }
            _ => {
                return Err(format!(
                    "security scheme {name}: only apiKey and http schemes are supported"
                ));
            }
        };
        let credential = credential_name(name, extensions.get("x-sdk-credential"));
        let basic = place == Place::Basic;
        // One setter takes one shape: a user and password, or a single secret.
        match credentials.iter().find(|c| c.name == credential) {
            Some(existing) if existing.basic != basic => {
                return Err(format!(
                    "credential {credential}: shared by a Basic and a non-Basic scheme"
                ));
            }
            Some(_) => {}
            None => credentials.push(CredentialRow {
                name: credential.clone(),
                basic,
                description: description.clone().unwrap_or_default(),
            }),
        }
        rows.push(SchemeRow {
            name: name.clone(),
            credential,
            place,
            body_fields: body_fields(name, extensions.get("x-sdk-body-fields"))?,
        });
    }
    Ok((rows, credentials))
}

/// `x-sdk-place` on an apiKey scheme: a form field, a top-level JSON field or the whole
/// body, which OpenAPI's `in` (header, query, cookie) cannot say.
fn api_key_place(
    scheme: &str,
    location: &APIKeyLocation,
    key: &str,
    extension: Option<&Value>,
) -> Result<Place, String> {
    match (extension.and_then(Value::as_str), location) {
        (Some("form-field"), _) => Ok(Place::FormField(key.to_owned())),
        (Some("json-field"), _) => Ok(Place::JsonField(key.to_owned())),
        (Some("body"), _) => Ok(Place::Body),
        (Some(other), _) => Err(format!("security scheme {scheme}: unknown x-sdk-place `{other}`")),
        (None, APIKeyLocation::Header) => Ok(Place::Header(key.to_owned())),
        (None, APIKeyLocation::Query) => Ok(Place::Query(key.to_owned())),
        // progenitor has no cookie jar; a cookie is a header the user sets whole.
        (None, APIKeyLocation::Cookie) => Err(format!(
            "security scheme {scheme}: cookies: use `in: header, name: Cookie`"
        )),
    }
}

/// `x-sdk-credential`: the credential (and builder setter) a scheme sends; by default
/// the scheme's name in snake_case. Schemes that share one send the same secret in
/// different places (TigerGraph's secret in a query, a JSON field or the body).
fn credential_name(scheme: &str, extension: Option<&Value>) -> String {
    extension
        .and_then(Value::as_str)
        .map_or_else(|| snake_case(scheme), str::to_owned)
}

/// `x-sdk-body-fields`: body fields that, all present, carry the scheme's credential
/// for one call (Fastly's login typed into the form).
fn body_fields(scheme: &str, extension: Option<&Value>) -> Result<Vec<String>, String> {
    match extension {
        None => Ok(Vec::new()),
        Some(value) => value
            .as_array()
            .and_then(|list| list.iter().map(|f| f.as_str().map(str::to_owned)).collect())
            .ok_or(format!(
                "security scheme {scheme}: x-sdk-body-fields must be a list of field names"
            )),
    }
}

/// `x-sdk-rust-type`: component schemas that a hand-written type replaces (progenitor's
/// `with_replacement`), as `(schema, ::path)`; a path that does not parse fails here,
/// not later in `cargo check`.
fn replacements(spec: &OpenAPI) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let Some(components) = &spec.components else {
        return Ok(out);
    };
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else { continue };
        if let Some(path) = schema.schema_data.extensions.get("x-sdk-rust-type") {
            let path = path
                .as_str()
                .filter(|p| syn::parse_str::<syn::Path>(p).is_ok())
                .ok_or(format!(
                    "schema {name}: x-sdk-rust-type must be a Rust path, such as `my_crate::MyType`"
                ))?;
            out.push((name.clone(), format!("::{path}")));
        }
    }
    Ok(out)
}
