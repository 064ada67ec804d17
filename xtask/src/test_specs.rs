//! One-operation specs for the xtask's tests, and what the lint says of them.

/// A one-operation spec around `operation` (YAML, indented for `paths./t.post`).
pub(crate) fn spec(operation: &str, extra_root: &str) -> String {
    format!(
        "openapi: 3.0.3\ninfo: {{title: T, version: '1'}}\nx-sdk-errors: {{code: [/code], message: [/msg]}}\n{extra_root}\npaths:\n  /t:\n    post:\n{operation}\ncomponents:\n  schemas:\n    A: {{type: object, description: An A., properties: {{a: {{type: string, description: The a.}}}}}}\n    B: {{type: object, description: A B., properties: {{b: {{type: integer, description: The b.}}}}}}\n  securitySchemes:\n    key: {{type: apiKey, in: header, name: X-Key}}\n"
    )
}

/// A `200` answer of schema `A`, indented for [`spec`]'s operation.
pub(crate) const OK_RESPONSE: &str = "      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}";

/// What the lint says of `yaml`: its problems, one a line; empty when none.
pub(crate) fn problems(yaml: &str) -> String {
    let spec: openapiv3::OpenAPI = serde_yaml::from_str(yaml).expect("yaml");
    match crate::lint::check(&spec) {
        Ok(()) => String::new(),
        Err(problems) => problems.join("\n"),
    }
}
