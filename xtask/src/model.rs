//! The lowered model: what `lower` makes of a spec and every later step reads (the
//! spec progenitor sees, and the tables the runtime reads beside the generated code).

use openapiv3::OpenAPI;
use serde_json::Value;

/// A spec ready for progenitor, with the tables the runtime reads beside it.
pub struct Lowered {
    /// The spec progenitor sees: JSON-like media types renamed `application/json`
    /// (progenitor types only that), component responses inlined.
    pub spec: OpenAPI,
    pub crate_name: String,
    pub vendor: String,
    pub vendor_messages: Vec<String>,
    pub categories: Vec<CategoryRow>,
    pub default_base_url: Option<String>,
    pub schemes: Vec<SchemeRow>,
    pub credentials: Vec<CredentialRow>,
    pub error_code: Vec<String>,
    pub error_message: Vec<String>,
    pub operations: Vec<OperationRow>,
    pub replacements: Vec<(String, String)>,
}

/// One rule of `x-sdk-error-categories`.
pub struct CategoryRow {
    /// The `Category` variant's name (`NotFound`, …).
    pub category: String,
    pub statuses: Vec<u16>,
    pub codes: Vec<String>,
    pub messages: Vec<String>,
}

/// One security scheme: which credential it sends, and where.
pub struct SchemeRow {
    pub name: String,
    pub credential: String,
    pub place: Place,
    pub body_fields: Vec<String>,
}

/// Where a scheme puts its credential (`wire::Place` in the runtime).
#[derive(Clone, PartialEq, Eq)]
pub enum Place {
    Header(String),
    Basic,
    Bearer,
    Query(String),
    FormField(String),
    JsonField(String),
    Body,
}

/// One credential of the client builder; several schemes may send it.
pub struct CredentialRow {
    pub name: String,
    pub basic: bool,
    pub description: String,
}

/// One operation's table (`wire::Operation` in the runtime).
pub struct OperationRow {
    /// progenitor's name for it: the snake_case `operationId`.
    pub id: String,
    pub method: String,
    pub path: String,
    pub path_params: Vec<String>,
    pub required_query: Vec<String>,
    pub security: Vec<Vec<String>>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub envelope: Option<Envelope>,
    pub notes: Vec<(String, String)>,
    pub secret_inputs: Vec<SecretInput>,
}

/// A request field holding a secret: `format: password`, or `x-sdk-secret: true` on a
/// shape that cannot say so (TigerGraph's comma-separated token list).
pub enum SecretInput {
    Query(String),
    FormField(String),
    JsonPointer(String),
}

/// `x-sdk-envelope`: a 2xx body whose `field` holds anything but `success` is an error.
#[derive(Clone)]
pub struct Envelope {
    pub field: String,
    pub success: Vec<Value>,
}
