//! Tables that `cargo xtask codegen` derives from each spec: what progenitor cannot express.
//!
//! Every vendor crate's generated file holds one [`Api`] and one [`Operation`] per
//! operation; the hooks in this crate apply them. Nothing here is written by hand per
//! vendor.

/// What a whole vendor API needs at runtime.
#[derive(Debug)]
pub struct Api {
    /// The vendor's name, as users know it (from the spec's `info.title`).
    pub vendor: &'static str,
    /// The security schemes of the spec.
    pub schemes: &'static [Scheme],
    /// Where the vendor's error bodies keep their code and message.
    pub errors: ErrorFields,
    /// Messages the vendor writes itself, word for word (`x-sdk-vendor-messages`): never
    /// an echo of a request, so never scrubbed.
    pub vendor_messages: &'static [&'static str],
    /// Every operation of the spec.
    pub operations: &'static [&'static Operation],
    /// What tells the error categories apart (`x-sdk-error-categories`), tried in order.
    pub categories: &'static [CategoryRule],
}

/// When a vendor error belongs to a [`Category`](crate::Category): any of its HTTP
/// statuses, codes, or message fragments (contained, case-sensitive).
#[derive(Debug)]
pub struct CategoryRule {
    /// The category.
    pub category: crate::Category,
    /// HTTP statuses.
    pub statuses: &'static [u16],
    /// Vendor codes, exact.
    pub codes: &'static [&'static str],
    /// Fragments of vendor messages.
    pub messages: &'static [&'static str],
}

impl Api {
    /// The scheme named `name`.
    pub fn scheme(&self, name: &str) -> Option<&'static Scheme> {
        self.schemes.iter().find(|s| s.name == name)
    }
}

/// One security scheme of the spec.
#[derive(Debug)]
pub struct Scheme {
    /// The scheme's name in `components.securitySchemes`.
    pub name: &'static str,
    /// The credential that fills it; several schemes can share one (the same secret
    /// sent in a query on one server generation and in a JSON body on another).
    pub credential: &'static str,
    /// Where the credential goes on the wire.
    pub place: Place,
    /// Fields of the request body that can carry this scheme's credential for one call
    /// instead (Fastly's login in the token-creation form). When the body holds all of
    /// them, the scheme is satisfied and nothing more is added.
    pub body_fields: &'static [&'static str],
}

/// Where a credential goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A header holding the credential as is (`Fastly-Key`, `X-API-Key`, `Cookie`).
    Header(&'static str),
    /// `Authorization: Basic base64(user:password)`.
    Basic,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A query parameter.
    Query(&'static str),
    /// A field of an `application/x-www-form-urlencoded` body.
    FormField(&'static str),
    /// A top-level field of a JSON object body.
    JsonField(&'static str),
    /// The whole request body, as is (TigerGraph 3.0–3.4's `POST /requesttoken`, which
    /// keeps the secret out of URLs and access logs).
    Body,
}

impl Place {
    /// Whether the credential is a user name and password rather than one secret.
    pub fn is_basic(self) -> bool {
        matches!(self, Place::Basic)
    }
}

/// JSON pointers, tried in order, to a vendor error's code and message.
#[derive(Debug)]
pub struct ErrorFields {
    /// Pointers to the error code (`/code`, `/errors/0/code`).
    pub code: &'static [&'static str],
    /// Pointers to the human message (`/msg`, `/detail`).
    pub message: &'static [&'static str],
}

/// One operation of the spec.
#[derive(Debug)]
pub struct Operation {
    /// The operation id in snake_case, as progenitor names the method.
    pub id: &'static str,
    /// The HTTP method, for messages.
    pub method: &'static str,
    /// The path template, for messages (never the concrete URL, which may hold secrets).
    pub path: &'static str,
    /// The path parameters: each must be a real path segment (not empty, `.` or `..`),
    /// or the request would reach another endpoint.
    pub path_params: &'static [&'static str],
    /// The required query parameters: an empty value is refused rather than sent.
    pub required_query: &'static [&'static str],
    /// Alternatives of scheme names; an alternative is satisfied when every scheme in it
    /// has its credential. Empty: the operation needs no authentication.
    pub security: &'static [&'static [&'static str]],
    /// The request `Content-Type` the vendor expects, when progenitor cannot send it.
    pub content_type: Option<&'static str>,
    /// The `Accept` header the vendor expects, when it is not `application/json`.
    pub accept: Option<&'static str>,
    /// How to tell a failure reported inside a 2xx body.
    pub envelope: Option<Envelope>,
    /// Request fields that hold secrets (besides credentials), so that an error never
    /// repeats them even when the vendor echoes them in its message.
    pub secret_inputs: &'static [SecretInput],
    /// Vendor codes or messages that need a word more: `(code or message, note)`, the
    /// note shown with the error (DoCluster's logout that fails yet invalidates the token).
    pub notes: &'static [(&'static str, &'static str)],
}

/// A request field that holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretInput {
    /// A query parameter.
    Query(&'static str),
    /// A field of a form body.
    FormField(&'static str),
    /// A field of a JSON body, by JSON pointer (`/token`, `/info/accessToken`).
    JsonPointer(&'static str),
}

/// A vendor that reports failures inside successful HTTP answers.
#[derive(Debug, Clone, Copy)]
pub struct Envelope {
    /// JSON pointer to the field that tells success from failure.
    pub field: &'static str,
    /// The values of that field that mean success; anything else, or its absence, is a
    /// failure.
    pub success: &'static [Literal],
}

/// A JSON scalar in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    /// `true` or `false`.
    Bool(bool),
    /// A string.
    Str(&'static str),
}

impl Literal {
    /// Whether `value` is this literal.
    pub fn matches(self, value: &serde_json::Value) -> bool {
        match (self, value) {
            (Literal::Bool(b), serde_json::Value::Bool(v)) => b == *v,
            (Literal::Str(s), serde_json::Value::String(v)) => s == v,
            _ => false,
        }
    }
}
