//! The OpenAPI 3.0 document of `/api/v1`, generated from [`super::api::ROUTES`] and the
//! response types' schemas (`schemars`). `vigil openapi` prints it; `docs/openapi.json`
//! is the committed copy, and a test fails when the two differ.

use schemars::generate::{Contract, SchemaSettings};
use serde_json::{json, Map, Value};

use super::api::{ErrorBody, ROUTES};

pub fn document() -> Value {
    let mut generator = SchemaSettings::openapi3()
        .with(|settings| {
            settings.contract = Contract::Serialize;
            settings.meta_schema = None;
        })
        .into_generator();
    let error = generator.subschema_for::<ErrorBody>();
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let mut parameters: Vec<Value> = route
            .params
            .iter()
            .map(|param| {
                json!({
                    "name": param.name,
                    "in": "query",
                    "required": false,
                    "description": param.description,
                    "schema": {"type": param.kind},
                })
            })
            .collect();
        for name in path_params(route.path) {
            parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
        }
        let mut responses = Map::new();
        let body = (route.response)(&mut generator);
        responses.insert("200".to_owned(), json!({"description": "OK", "content": {"application/json": {"schema": body}}}));
        for status in route.errors {
            responses.insert(
                status.to_string(),
                json!({"description": reason(*status), "content": {"application/json": {"schema": error.clone()}}}),
            );
        }
        let mut operation = json!({
            "summary": route.summary,
            "description": format!("Needs a token with role {} or above.", route.role),
            "security": [{"bearer": []}],
            "responses": responses,
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = route.body {
            let schema = body(&mut generator);
            operation["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": schema}}});
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Vigil API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Vigil's own API. Alertmanager's API v2 (/api/v2) is served as Alertmanager documents it.",
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `vigil token create`"}},
        },
    })
}

fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|part| part.strip_prefix('{').and_then(|part| part.strip_suffix('}')))
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad request: a parameter is malformed",
        401 => "No token, or not a valid one",
        403 => "The token's role may not do this",
        404 => "No such thing",
        409 => "It conflicts with the record (already acknowledged, resolved, or open)",
        413 => "The body is too large",
        _ => "Error",
    }
}
