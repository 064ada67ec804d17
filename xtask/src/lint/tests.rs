//! The lint's rules, each shown naming the operation or component and the rule.

use crate::test_specs::{OK_RESPONSE, problems, spec};

fn assert_rule(operation: &str, rule: &str) {
    let found = problems(&spec(operation, ""));
    assert!(
        found.contains(&format!("rule \"{rule}\"")),
        "expected rule {rule}, got: {found}"
    );
}

#[test]
fn shapes_that_panic_or_mistype_progenitor_are_named() {
    let op = "      operationId: op\n";
    assert_rule(
        &format!(
            "{op}      responses:\n        default: {{description: d, content: {{application/json: {{schema: {{$ref: '#/components/schemas/A'}}}}}}}}\n        '200': {{description: ok}}"
        ),
        "no default response",
    );
    assert_rule(
        &format!(
            "{op}      requestBody: {{content: {{application/json: {{schema: {{$ref: '#/components/schemas/A'}}}}, application/x-www-form-urlencoded: {{schema: {{$ref: '#/components/schemas/A'}}}}}}}}\n{OK_RESPONSE}"
        ),
        "one request media type",
    );
    assert_rule(
        &format!(
            "{op}      requestBody: {{content: {{application/x-www-form-urlencoded: {{schema: {{$ref: '#/components/schemas/A'}}, encoding: {{a: {{style: form}}}}}}}}}}\n{OK_RESPONSE}"
        ),
        "no form encoding",
    );
    assert_rule(
        &format!(
            "{op}      requestBody: {{content: {{multipart/form-data: {{schema: {{$ref: '#/components/schemas/A'}}}}}}}}\n{OK_RESPONSE}"
        ),
        "request media type",
    );
    assert_rule(
        &format!("{op}      responses:\n        '200': {{description: ok, content: {{application/json: {{}}}}}}"),
        "schemas on JSON responses",
    );
    assert_rule(
        &format!(
            "{op}      responses:\n        '200': {{description: ok, content: {{text/plain: {{schema: {{type: string}}}}}}}}"
        ),
        "JSON responses",
    );
    assert_rule(
        &format!(
            "{op}      responses:\n        '200': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/A'}}}}}}}}\n        '201': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/B'}}}}}}}}"
        ),
        "one success shape",
    );
    assert_rule(
        &format!(
            "{op}      responses:\n        '200': {{description: ok}}\n        '400': {{description: e, content: {{application/json: {{schema: {{$ref: '#/components/schemas/A'}}}}}}}}\n        '404': {{description: e, content: {{application/json: {{schema: {{$ref: '#/components/schemas/B'}}}}}}}}"
        ),
        "one error shape",
    );
    assert_rule(
        &format!("{op}      parameters: [{{name: s, in: cookie, schema: {{type: string}}}}]\n{OK_RESPONSE}"),
        "no cookie parameters",
    );
    assert_rule(
        &format!(
            "{op}      parameters: [{{name: X-Otp, in: header, schema: {{type: string, format: password}}}}]\n{OK_RESPONSE}"
        ),
        "no secret in headers or paths",
    );
    assert_rule(
        &format!("{op}      security: [{{nope: []}}]\n{OK_RESPONSE}"),
        "known security schemes",
    );
    assert_rule(&format!("      summary: no id\n{OK_RESPONSE}"), "operationId");
}

#[test]
fn the_version_and_the_operation_are_named() {
    let found = problems(
        &spec(
            "      operationId: op\n      responses:\n        default: {description: d}",
            "",
        )
        .replace("3.0.3", "3.1.0"),
    );
    assert!(found.contains("rule \"OpenAPI 3.0.x\""), "{found}");
    assert!(found.contains("operation op: rule \"no default response\""), "{found}");
}

#[test]
fn unknown_extensions_and_bad_rust_types_are_named() {
    let yaml = spec(
        "      operationId: op\n      x-sdk-envelop: {field: /error, success: [false]}\n      responses:\n        '200': {description: ok}",
        "",
    );
    let raw: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("yaml");
    let unknown = super::unknown_extensions(&raw);
    assert_eq!(unknown, [("paths./t.post".to_owned(), "x-sdk-envelop".to_owned())]);
    let yaml = spec(&format!("      operationId: op\n{OK_RESPONSE}"), "")
        .replace("A: {type: object,", "A: {x-sdk-rust-type: 'not a path!', type: object,");
    let spec: openapiv3::OpenAPI = serde_yaml::from_str(&yaml).expect("yaml");
    let error = crate::lower::lower(spec, "demo-tokens").err().expect("refused");
    assert!(
        error.contains("schema A: x-sdk-rust-type must be a Rust path"),
        "{error}"
    );
}

#[test]
fn undescribed_public_items_are_named() {
    let yaml = spec(
        &format!(
            "      operationId: op\n      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{OK_RESPONSE}"
        ),
        "",
    )
    .replace("A: {type: object, description: An A.,", "A: {type: object,")
    .replace(
        "{b: {type: integer, description: The b.}}",
        "{b: {type: integer}, c: {$ref: '#/components/schemas/A'}}",
    );
    let found = problems(&yaml);
    for expected in [
        "schema A: rule \"described\"",
        "schema B: property b: rule \"described\"",
        "schema B: property c: rule \"described\": a bare $ref cannot be described",
        "parameter q: rule \"described\"",
    ] {
        assert!(found.contains(expected), "expected {expected}, got: {found}");
    }
    assert_eq!(found.lines().count(), 4, "{found}");
}

#[test]
fn dangling_references_name_their_operation_or_component() {
    let yaml = spec(
        "      operationId: makeThing\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Missing'}}}}\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}",
        "",
    )
    .replace("{b: {type: integer, description: The b.}}", "{b: {description: B, allOf: [$ref: '#/components/schemas/Gone']}}");
    let raw: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("yaml");
    let found: Vec<String> = super::dangling_references(&raw)
        .into_iter()
        .map(|(owner, problem)| format!("{owner}: {problem}"))
        .collect();
    assert_eq!(
        found,
        [
            "operation makeThing: rule \"known references\": `#/components/schemas/Missing` names nothing in this spec",
            "component schemas.B: rule \"known references\": `#/components/schemas/Gone` names nothing in this spec",
        ]
    );
}
