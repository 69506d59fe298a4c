//! The JSON API as a client uses it: a real server on 127.0.0.1:0 over a
//! real SQLite file, seeded with the sample estate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, SampleIds, seed_sample};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Server {
    base: String,
    ids: Option<SampleIds>,
    _dir: Option<tempfile::TempDir>,
}

/// Starts a server over the SQLite file in `dir` (seeding the sample if asked).
fn start_on(dir: &Path, seed: bool) -> (String, Option<SampleIds>) {
    let file: PathBuf = dir.join("doorstep.sqlite");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = App::new(Arc::new(doorstep_store_sqlite::open(&file).await.unwrap()));
            let ids = if seed {
                Some(seed_sample(&app).await.unwrap())
            } else {
                None
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((format!("http://{}", listener.local_addr().unwrap()), ids))
                .unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (base, ids) = start_on(dir.path(), true);
    Server {
        base,
        ids,
        _dir: Some(dir),
    }
}

impl Server {
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn login(&self, user: &str) -> String {
        let (s, v) = self.call(
            "POST",
            "/api/v1/login",
            None,
            Some(json!({"username": user, "password": SAMPLE_PASSWORD})),
        );
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    fn ids(&self) -> SampleIds {
        self.ids.unwrap()
    }
}

#[test]
fn health_and_openapi() {
    let s = start();
    let (st, body) = s.call("GET", "/healthz", None, None);
    assert_eq!((st, body), (200, Value::String("ok".into())));
    let (st, doc) = s.call("GET", "/api/openapi.json", None, None);
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ids.push(op["operationId"].as_str().unwrap().to_string());
            // Every documented operation is routed: without a token it is 401, not 404/405.
            let concrete = path
                .replace("{code}", "sample")
                .replace("{id}", "1")
                .replace("{date}", "2026-12-01")
                .replace("{user_id}", "1")
                .replace("{merchant}", "1")
                .replace("{token}", "0123456789abcdef0123456789abcdef")
                .replace("{index}", "0");
            let body = if op.get("requestBody").is_some() {
                Some(json!({}))
            } else {
                None
            };
            let (st, v) = s.call(&method.to_uppercase(), &concrete, None, body);
            let expected = match op["operationId"].as_str().unwrap() {
                "login" | "requestOwnerCode" | "verifyOwnerCode" => 422,
                "logout" | "endOwnerSession" => 204,
                "listSlots" => 200,
                // Public, verified by signature; there is no merchant account 1 here.
                "wechatpayNotify" | "alipayNotify" => 404,
                // Public: an empty body names what is missing; an unknown
                // receipt link or company is not found.
                "verifyReceipt" | "requestInvoice" => 422,
                "getReceiptByToken" | "getPublicCheckpoint" => 404,
                "getPublicKeys" => 200,
                _ => 401,
            };
            assert_eq!(st, expected, "{method} {path}: {v}");
        }
    }
    for needed in ["login", "listEstates", "listArrears", "runBilling"] {
        assert!(ids.iter().any(|i| i == needed), "missing {needed}");
    }
}

#[test]
fn login_and_roles() {
    let s = start();
    let (st, v) = s.call(
        "POST",
        "/api/v1/login",
        None,
        Some(json!({"username": "s-finance", "password": "wrong"})),
    );
    assert_eq!(st, 401);
    assert_eq!(v["message"], "wrong username or password");
    let (st, _) = s.call("GET", "/api/v1/estates", Some("not-a-token"), None);
    assert_eq!(st, 401);
    let fin = s.login("s-finance");
    let (st, v) = s.call("GET", "/api/v1/me", Some(&fin), None);
    assert_eq!((st, v["role"].as_str()), (200, Some("finance")));
    let (_, v) = s.call("GET", "/api/v1/estates", Some(&fin), None);
    assert_eq!(
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["sample"]
    );
    // Scope: a finance user of another estate sees neither its arrears nor its rooms.
    let other = s.login("s-other");
    let (st, v) = s.call("GET", "/api/v1/estates/sample/arrears", Some(&other), None);
    assert_eq!(st, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("no access"));
    // Role: a collector may read arrears but not run billing or waive.
    let col = s.login("s-collector");
    assert_eq!(
        s.call("GET", "/api/v1/estates/sample/arrears", Some(&col), None)
            .0,
        200
    );
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/billing-runs",
        Some(&col),
        Some(json!({"period": "2026-03"})),
    );
    assert_eq!(st, 403, "{v}");
    // Admin sees every estate of the company.
    let admin = s.login("s-admin");
    assert_eq!(
        s.call("GET", "/api/v1/estates", Some(&admin), None)
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Logout ends the session.
    assert_eq!(s.call("POST", "/api/v1/logout", Some(&fin), None).0, 204);
    assert_eq!(s.call("GET", "/api/v1/me", Some(&fin), None).0, 401);
}

#[test]
fn billing_runs_are_idempotent_and_bad_periods_change_nothing() {
    let s = start();
    let fin = s.login("s-finance");
    let lines = |s: &Server| {
        s.call("GET", "/api/v1/estates/sample", Some(&fin), None).1["stats"]["bill_lines"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(lines(&s), 6);
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/billing-runs",
        Some(&fin),
        Some(json!({"period": "2026-13"})),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("period")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("month 13"));
    assert_eq!(lines(&s), 6);
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/billing-runs",
        Some(&fin),
        Some(json!({"period": "2026-03"})),
    );
    assert_eq!(
        (st, v["created"].as_u64(), v["existing"].as_u64()),
        (200, Some(3), Some(0)),
        "{v}"
    );
    let (_, v) = s.call(
        "POST",
        "/api/v1/estates/sample/billing-runs",
        Some(&fin),
        Some(json!({"period": "2026-03"})),
    );
    assert_eq!(
        (v["created"].as_u64(), v["existing"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(lines(&s), 9);
    let (st, _) = s.call(
        "POST",
        "/api/v1/estates/nowhere/billing-runs",
        Some(&fin),
        Some(json!({"period": "2026-03"})),
    );
    assert_eq!(st, 404);
}

#[test]
fn arrears_show_late_fees_with_their_calculation() {
    let s = start();
    let fin = s.login("s-finance");
    let (st, a) = s.call(
        "GET",
        "/api/v1/estates/sample/arrears?as_of=2026-02-15",
        Some(&fin),
        None,
    );
    assert_eq!(st, 200, "{a}");
    let rows = a["rows"].as_array().unwrap();
    // Due by 2026-02-15: both rooms' January property fee, January and February parking.
    assert_eq!(rows.len(), 4, "{a}");
    let jan_parking = rows
        .iter()
        .find(|r| r["object"] == "地下B1 车位B007" && r["period"] == "2026-01")
        .unwrap();
    assert_eq!(jan_parking["late_fee_owed"], 465);
    assert_eq!(
        jan_parking["late_fee_text"],
        "31天 × 日万分之五 × ¥300.00 = ¥4.65"
    );
    assert_eq!(jan_parking["owners"], json!(["张三"]));
    assert_eq!(a["principal_owed"], 30000 + 22375 + 30000 + 30000);
    assert_eq!(a["late_fee_owed"], 465);
    assert_eq!(a["total_owed"], 112375 + 465);
    let (st, v) = s.call(
        "GET",
        "/api/v1/estates/sample/arrears?as_of=2026-02-30",
        Some(&fin),
        None,
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("as_of")));
}

#[test]
fn waivers_need_a_reason_and_keep_who() {
    let s = start();
    let fin = s.login("s-finance");
    let (_, a) = s.call(
        "GET",
        "/api/v1/estates/sample/arrears?as_of=2026-03-01",
        Some(&fin),
        None,
    );
    let line = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["late_fee_owed"].as_i64().unwrap() > 0)
        .unwrap()["line_id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/estates/sample/bill-lines/{line}/waive-late-fee");
    let (st, v) = s.call("POST", &path, Some(&fin), Some(json!({"reason": "  "})));
    assert_eq!((st, v["field"].as_str()), (422, Some("reason")));
    let (st, v) = s.call(
        "POST",
        &path,
        Some(&fin),
        Some(json!({"reason": "独居老人，经理批准"})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["late_fee_waiver"]["by"], "s-finance");
    assert_eq!(v["late_fee_waiver"]["reason"], "独居老人，经理批准");
    let (_, a) = s.call(
        "GET",
        "/api/v1/estates/sample/arrears?as_of=2026-03-01",
        Some(&fin),
        None,
    );
    let row = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line_id"] == line)
        .unwrap();
    assert_eq!(row["late_fee_owed"], 0);
    assert!(row["late_fee_text"].as_str().unwrap().ends_with("已减免"));
    assert_eq!(
        s.call("POST", &path, Some(&fin), Some(json!({"reason": "again"})))
            .0,
        409
    );
}

#[test]
fn payments_allocate_and_refuse_overpayment() {
    let s = start();
    let fin = s.login("s-finance");
    let space = s.ids().space_b007;
    let path = "/api/v1/estates/sample/payments";
    let (st, v) = s.call(
        "POST",
        path,
        Some(&fin),
        Some(json!({"amount": "9999", "space_ids": [space], "paid_on": "2026-02-15"})),
    );
    assert_eq!(st, 409, "{v}");
    let (st, v) = s.call("POST", path, Some(&fin), Some(json!({"amount": "304.65", "space_ids": [space], "paid_on": "2026-02-15", "idempotency_key": "visit-1"})));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["allocation"][0]["late_fee"], 465);
    assert_eq!(v["allocation"][0]["principal"], 30000);
    let (_, again) = s.call("POST", path, Some(&fin), Some(json!({"amount": "304.65", "space_ids": [space], "paid_on": "2026-02-15", "idempotency_key": "visit-1"})));
    assert_eq!(
        (again["id"].clone(), again["replayed"].clone()),
        (v["id"].clone(), json!(true))
    );
    // The same key in another estate is that estate's own: a payment of
    // its own, never this estate's answered back.
    let other = s.login("s-other");
    let (st, r) = s.call(
        "POST",
        "/api/v1/estates/other/rooms",
        Some(&other),
        Some(json!({"building": "1", "floor": 1, "number": "101", "area": "50"})),
    );
    assert_eq!(st, 201, "{r}");
    let item = json!({"code": "property", "name": "物业服务费", "category": "property", "basis": "per_area", "cycle": "monthly", "price": 250, "due_day": 31,
        "late_fee": {"enabled": false, "grace_days": 0, "daily_rate_ppm": 0, "cap": {"kind": "none"}}});
    let (st, i) = s.call(
        "POST",
        "/api/v1/estates/other/fee-items",
        Some(&other),
        Some(item),
    );
    assert_eq!(st, 201, "{i}");
    let (st, run) = s.call(
        "POST",
        "/api/v1/estates/other/billing-runs",
        Some(&other),
        Some(json!({"period": "2026-01"})),
    );
    assert_eq!(st, 200, "{run}");
    let (st, far) = s.call("POST", "/api/v1/estates/other/payments", Some(&other), Some(json!({"amount": "100.00", "room_ids": [r["id"]], "paid_on": "2026-02-15", "idempotency_key": "visit-1"})));
    assert_eq!(st, 200, "{far}");
    assert_eq!(far["replayed"], json!(false), "{far}");
    assert_ne!(far["id"], v["id"]);
    let (st, v) = s.call(
        "POST",
        path,
        Some(&fin),
        Some(json!({"amount": "-1", "space_ids": [space]})),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("amount")));
}

#[test]
fn bad_input_is_named_and_changes_nothing() {
    let s = start();
    let fin = s.login("s-finance");
    let rooms = |s: &Server| {
        s.call("GET", "/api/v1/estates/sample", Some(&fin), None).1["stats"]["rooms"]
            .as_i64()
            .unwrap()
    };
    for (area, field) in [
        (json!("-3"), "area"),
        (json!("12.345"), "area"),
        (json!("99999"), "area"),
    ] {
        let (st, v) = s.call(
            "POST",
            "/api/v1/estates/sample/rooms",
            Some(&fin),
            Some(json!({"building": "7", "floor": 1, "number": "101", "area": area})),
        );
        assert_eq!((st, v["field"].as_str()), (422, Some(field)), "{v}");
    }
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/rooms",
        Some(&fin),
        Some(json!({"building": "3", "floor": 2, "number": "202", "area": "80"})),
    );
    assert_eq!(st, 409, "{v}");
    assert_eq!(rooms(&s), 2);
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/rooms",
        Some(&fin),
        Some(json!({"building": "7", "floor": 1, "number": "101", "area": 66.5})),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(rooms(&s), 3);
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/owners",
        Some(&fin),
        Some(json!({"name": "李四", "phones": ["12345"]})),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("phone")), "{v}");
    let water = json!({"code": "water2", "name": "水费", "category": "on_behalf", "basis": "entered", "cycle": "monthly", "price": 0, "due_day": 25,
        "late_fee": {"enabled": true, "grace_days": 0, "daily_rate_ppm": 500, "cap": {"kind": "none"}}});
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/fee-items",
        Some(&fin),
        Some(water),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("late_fee")), "{v}");
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/fee-items",
        Some(&fin),
        Some(json!({"code": "x"})),
    );
    assert_eq!(st, 422, "{v}");
}

#[test]
fn sessions_work_across_instances() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = start_on(dir.path(), true);
    let (b, _) = start_on(dir.path(), false);
    let sa = Server {
        base: a,
        ids: None,
        _dir: None,
    };
    let sb = Server {
        base: b,
        ids: None,
        _dir: None,
    };
    let token = sa.login("s-finance");
    let (st, v) = sb.call("GET", "/api/v1/me", Some(&token), None);
    assert_eq!((st, v["username"].as_str()), (200, Some("s-finance")));
    assert_eq!(sb.call("POST", "/api/v1/logout", Some(&token), None).0, 204);
    assert_eq!(sa.call("GET", "/api/v1/me", Some(&token), None).0, 401);
}

#[test]
fn metered_amounts_are_entered_then_billed_without_late_fees() {
    let s = start();
    let fin = s.login("s-finance");
    let ids = s.ids();
    let water = json!({"code": "water", "name": "代收水费", "category": "on_behalf", "basis": "entered", "cycle": "monthly", "price": 0, "due_day": 25,
        "late_fee": {"enabled": false, "grace_days": 0, "daily_rate_ppm": 0, "cap": {"kind": "none"}}});
    let (st, item) = s.call(
        "POST",
        "/api/v1/estates/sample/fee-items",
        Some(&fin),
        Some(water),
    );
    assert_eq!(st, 201, "{item}");
    let path = format!("/api/v1/estates/sample/fee-items/{}/amounts", item["id"]);
    let (st, v) = s.call("PUT", &path, Some(&fin), Some(json!({"period": "2026-03", "amounts": [{"room_id": ids.room_202, "amount": "35.60"}, {"room_id": 999_999, "amount": "1"}]})));
    assert_eq!(st, 404, "{v}");
    let (st, v) = s.call(
        "PUT",
        &path,
        Some(&fin),
        Some(
            json!({"period": "2026-03", "amounts": [{"room_id": ids.room_202, "amount": "35.6"}]}),
        ),
    );
    assert_eq!((st, v["entered"].as_u64()), (200, Some(1)), "{v}");
    let (_, run) = s.call(
        "POST",
        "/api/v1/estates/sample/billing-runs",
        Some(&fin),
        Some(json!({"period": "2026-03"})),
    );
    assert_eq!(
        run["created"], 4,
        "three regular lines and one water line: {run}"
    );
    let (_, a) = s.call(
        "GET",
        "/api/v1/estates/sample/arrears?as_of=2026-06-30",
        Some(&fin),
        None,
    );
    let water_line = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fee_item"] == "代收水费")
        .unwrap();
    assert_eq!(
        (
            water_line["amount"].as_i64(),
            water_line["category"].as_str()
        ),
        (Some(3560), Some("on_behalf"))
    );
    assert_eq!(
        water_line["late_fee"],
        Value::Null,
        "never a late fee on collected-on-behalf items"
    );
}
