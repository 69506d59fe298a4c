//! The OpenAPI 3 document of `/api/v1`, built from one table of operations.

use serde_json::{Map, Value, json};

/// (method, path, operationId, summary, needs a request body).
pub const OPERATIONS: &[(&str, &str, &str, &str, bool)] = &[
    (
        "post",
        "/login",
        "login",
        "Sign in with username and password; returns a bearer token",
        true,
    ),
    (
        "post",
        "/logout",
        "logout",
        "End the current session",
        false,
    ),
    ("get", "/me", "getMe", "The signed-in user", false),
    (
        "get",
        "/estates",
        "listEstates",
        "Estates the user may see",
        false,
    ),
    (
        "post",
        "/estates",
        "createEstate",
        "Create an estate (admin)",
        true,
    ),
    (
        "get",
        "/estates/{code}",
        "getEstate",
        "An estate and its counts",
        false,
    ),
    (
        "put",
        "/estates/{code}",
        "updateEstate",
        "Edit an estate",
        true,
    ),
    (
        "get",
        "/estates/{code}/buildings",
        "listBuildings",
        "Buildings of an estate",
        false,
    ),
    (
        "put",
        "/estates/{code}/buildings",
        "upsertBuilding",
        "Create or edit a building by name",
        true,
    ),
    (
        "get",
        "/estates/{code}/rooms",
        "listRooms",
        "Rooms (filter q: building, number or owner)",
        false,
    ),
    (
        "post",
        "/estates/{code}/rooms",
        "createRoom",
        "Add a room",
        true,
    ),
    (
        "put",
        "/estates/{code}/rooms/{id}",
        "updateRoom",
        "Edit a room",
        true,
    ),
    (
        "get",
        "/estates/{code}/spaces",
        "listSpaces",
        "Parking spaces",
        false,
    ),
    (
        "post",
        "/estates/{code}/spaces",
        "createSpace",
        "Add a parking space",
        true,
    ),
    (
        "put",
        "/estates/{code}/spaces/{id}",
        "updateSpace",
        "Edit a parking space",
        true,
    ),
    (
        "get",
        "/estates/{code}/owners",
        "listOwners",
        "Owners (filter q: name or phone)",
        false,
    ),
    (
        "post",
        "/estates/{code}/owners",
        "createOwner",
        "Add an owner with phones and holdings",
        true,
    ),
    (
        "put",
        "/estates/{code}/owners/{id}",
        "updateOwner",
        "Edit an owner",
        true,
    ),
    (
        "get",
        "/estates/{code}/fee-items",
        "listFeeItems",
        "Fee items with late-fee policies",
        false,
    ),
    (
        "post",
        "/estates/{code}/fee-items",
        "createFeeItem",
        "Add a fee item",
        true,
    ),
    (
        "put",
        "/estates/{code}/fee-items/{id}",
        "updateFeeItem",
        "Edit a fee item and its late-fee policy",
        true,
    ),
    (
        "put",
        "/estates/{code}/fee-items/{id}/amounts",
        "setEnteredAmounts",
        "Enter per-room amounts of an entered item (e.g. metered water) for a period",
        true,
    ),
    (
        "post",
        "/estates/{code}/billing-runs",
        "runBilling",
        "Bill a period (idempotent)",
        true,
    ),
    (
        "get",
        "/estates/{code}/arrears",
        "listArrears",
        "Owed lines with late fees as of a date (as_of=YYYY-MM-DD)",
        false,
    ),
    (
        "post",
        "/estates/{code}/payments",
        "recordPayment",
        "Record a payment, allocated oldest first",
        true,
    ),
    (
        "post",
        "/estates/{code}/bill-lines/{id}/waive-late-fee",
        "waiveLateFee",
        "Waive a line's late fee with a reason",
        true,
    ),
    (
        "post",
        "/estates/{code}/bill-lines/{id}/waive",
        "waiveBillLine",
        "Waive a whole line with a reason",
        true,
    ),
    (
        "post",
        "/estates/{code}/bill-lines/{id}/dispute",
        "setDispute",
        "Mark or clear a dispute (stops late-fee accrual)",
        true,
    ),
];

fn params(path: &str, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for name in ["code", "id"] {
        if path.contains(&format!("{{{name}}}")) {
            let schema = if name == "id" {
                json!({"type": "integer"})
            } else {
                json!({"type": "string"})
            };
            out.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    let query = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
    match id {
        "listArrears" => {
            out.push(query(
                "as_of",
                json!({"type": "string", "format": "date"}),
                "late fees as of this date (default: today at the estate)",
            ));
            out.push(query(
                "q",
                json!({"type": "string"}),
                "room/space label, owner name or phone contains",
            ));
        }
        "listRooms" | "listSpaces" | "listOwners" => {
            out.push(query("q", json!({"type": "string"}), "filter"));
            out.push(query(
                "limit",
                json!({"type": "integer", "default": 100, "maximum": 1000}),
                "page size",
            ));
            out.push(query(
                "offset",
                json!({"type": "integer", "default": 0}),
                "rows to skip",
            ));
        }
        _ => {}
    }
    out
}

/// The request body of an operation. Money is written in yuan as text
/// ("300.00") on input and returned as integer fen.
fn request_schema(id: &str) -> Value {
    let text = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let obj = |required: &[&str], props: Value| json!({"type": "object", "required": required, "properties": props});
    match id {
        "login" => obj(
            &["username", "password"],
            json!({"username": text, "password": text}),
        ),
        "createEstate" | "updateEstate" => obj(
            &["code", "name"],
            json!({"code": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}, "name": text, "timezone": text, "office": text}),
        ),
        "upsertBuilding" => obj(
            &["name", "entrances", "floors", "has_lift"],
            json!({"name": text, "entrances": int, "floors": int, "has_lift": {"type": "boolean"}}),
        ),
        "createRoom" | "updateRoom" => obj(
            &["building", "floor", "number", "area"],
            json!({"building": text, "entrance": text, "floor": int, "number": text, "area": {"type": "string", "description": "m², up to two decimals, e.g. \"89.50\""}}),
        ),
        "createSpace" | "updateSpace" => obj(&["code"], json!({"code": text, "level": text})),
        "createOwner" | "updateOwner" => obj(
            &["name", "phones"],
            json!({"name": text, "phones": {"type": "array", "items": text}, "room_ids": {"type": "array", "items": int}, "space_ids": {"type": "array", "items": int}}),
        ),
        "createFeeItem" | "updateFeeItem" => obj(
            &[
                "code", "name", "category", "basis", "cycle", "price", "due_day", "late_fee",
            ],
            json!({
                "code": text, "name": text,
                "category": {"type": "string", "enum": ["property", "parking", "on_behalf", "other"]},
                "basis": {"type": "string", "enum": ["per_area", "per_room", "per_space", "entered"]},
                "cycle": {"type": "string", "enum": ["monthly", "yearly"]},
                "price": {"type": "integer", "description": "fen per unit (per m² per month for per_area)"},
                "due_day": {"type": "integer", "minimum": 1, "maximum": 31},
                "active": {"type": "boolean"},
                "late_fee": obj(&["enabled", "grace_days", "daily_rate_ppm", "cap"], json!({
                    "enabled": {"type": "boolean"}, "grace_days": int,
                    "daily_rate_ppm": {"type": "integer", "description": "parts per million per day: 万分之五 = 500"},
                    "cap": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["none", "principal", "fixed"]}, "fen": int}}
                }))
            }),
        ),
        "setEnteredAmounts" => obj(
            &["period", "amounts"],
            json!({"period": text, "amounts": {"type": "array", "items": obj(&["room_id", "amount"], json!({"room_id": int, "amount": text}))}}),
        ),
        "runBilling" => obj(
            &["period"],
            json!({"period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2026-11"}}),
        ),
        "recordPayment" => obj(
            &["amount"],
            json!({"amount": text, "method": {"type": "string", "enum": ["cash", "wechat", "alipay", "bank", "other"]}, "room_ids": {"type": "array", "items": int},
                "space_ids": {"type": "array", "items": int}, "line_ids": {"type": "array", "items": int}, "paid_on": {"type": "string", "format": "date"}, "idempotency_key": text}),
        ),
        "waiveLateFee" | "waiveBillLine" => obj(&["reason"], json!({"reason": text})),
        "setDispute" => obj(
            &["reason"],
            json!({"reason": text, "disputed": {"type": "boolean", "default": true}}),
        ),
        _ => json!({"type": "object"}),
    }
}

/// The document served at `/api/openapi.json`.
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for (method, path, id, summary, body) in OPERATIONS {
        let mut op = json!({
            "operationId": id,
            "summary": summary,
            "parameters": params(path, id),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"}
            }
        });
        if *body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": request_schema(id)}}});
        }
        if *id == "login" {
            op["security"] = json!([]);
        }
        let entry = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Doorstep API", "version": env!("CARGO_PKG_VERSION"), "description": "门口收费 — property-fee collection. Money is integer fen; dates are local to the estate."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {
                "type": "object", "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}
            }}}}}
        },
        "paths": paths
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_id() {
        let doc = openapi_document();
        let mut ids = Vec::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                ids.push(op["operationId"].as_str().unwrap().to_string());
            }
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for needed in ["login", "listEstates", "listArrears", "runBilling"] {
            assert!(ids.iter().any(|i| i == needed), "{needed}");
        }
    }
}
