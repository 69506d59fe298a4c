//! The receipt pages over HTTP on a real SQLite file with the sample
//! estate: a counter cash payment gets a receipt; the owner's page shows it
//! as valid with its evidence proof, the PDF downloads in every size, a copy
//! goes to another phone, invoice requests are checked field by field and
//! made once, `/verify` vouches for the number and the PDF; staff list
//! receipts, export evidence, audit the log, work the invoice queue and set
//! a fee item's tax data; after a void requested by one person and approved
//! by finance, the page and `/verify` say void; unknown tokens are 404.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, SampleIds, seed_sample};
use doorstep_store::Store;
use serde_json::{Value, json};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

struct Server {
    base: String,
    app: App,
    rt: tokio::runtime::Handle,
    ids: SampleIds,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doorstep.sqlite");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        rt.block_on(async move {
            let store: Arc<dyn Store> = Arc::new(doorstep_store_sqlite::open(&file).await.unwrap());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let mut app = App::new(store);
            app.pay.public_url = base.clone();
            let ids = seed_sample(&app).await.unwrap();
            tx.send((base, app.clone(), handle, ids)).unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    let (base, app, rt, ids) = rx.recv().unwrap();
    Server {
        base,
        app,
        rt,
        ids,
        _dir: dir,
    }
}

/// An HTTP answer.
struct Answer {
    status: u16,
    content_type: String,
    disposition: String,
    location: String,
    set_cookie: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

enum Send<'a> {
    Nothing,
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
    Raw(&'a str, Vec<u8>),
}

impl Server {
    /// One request; redirects are followed only when `follow` (the bearer
    /// token is not carried across a redirect).
    fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        send: Send<'_>,
        follow: bool,
    ) -> Answer {
        let agent = ureq::AgentBuilder::new()
            .redirects(if follow { 5 } else { 0 })
            .timeout(Duration::from_secs(60))
            .build();
        let mut r = agent.request(method, &format!("{}{}", self.base, path));
        if let Some(t) = token {
            r = r.set("Authorization", &format!("Bearer {t}"));
        }
        let res = match send {
            Send::Nothing => r.call(),
            Send::Form(f) => r.send_form(f),
            Send::Json(v) => r.send_json(v),
            Send::Raw(ct, bytes) => r.set("Content-Type", ct).send_bytes(&bytes),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let h = |n: &str| resp.header(n).unwrap_or_default().to_string();
        let (status, content_type, disposition, location, set_cookie) = (
            resp.status(),
            h("content-type"),
            h("content-disposition"),
            h("location"),
            h("set-cookie"),
        );
        let mut body = Vec::new();
        resp.into_reader()
            .take(50 << 20)
            .read_to_end(&mut body)
            .unwrap();
        Answer {
            status,
            content_type,
            disposition,
            location,
            set_cookie,
            body,
        }
    }
    fn get(&self, path: &str) -> Answer {
        self.req("GET", path, None, Send::Nothing, true)
    }
    fn staff_get(&self, path: &str, token: &str) -> Answer {
        self.req("GET", path, Some(token), Send::Nothing, false)
    }
    fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.req("POST", path, None, Send::Form(form), true)
    }
    fn staff_form(&self, path: &str, token: &str, form: &[(&str, &str)]) -> Answer {
        self.req("POST", path, Some(token), Send::Form(form), false)
    }
    fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let a = self.req(
            method,
            path,
            Some(token),
            body.map(Send::Json).unwrap_or(Send::Nothing),
            false,
        );
        assert!(
            (200..300).contains(&a.status),
            "{method} {path}: {} {}",
            a.status,
            a.text()
        );
        a.json()
    }
    fn login(&self, user: &str) -> String {
        let a = self.req(
            "POST",
            "/api/v1/login",
            None,
            Send::Json(json!({"username": user, "password": SAMPLE_PASSWORD})),
            false,
        );
        assert_eq!(a.status, 200, "{}", a.text());
        a.json()["token"].as_str().unwrap().to_string()
    }
    fn upload(&self, pdf: &[u8]) -> Answer {
        let boundary = "----doorstep-test-boundary-7f3a";
        let mut body = Vec::new();
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"receipt.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        body.extend_from_slice(pdf);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.req(
            "POST",
            "/verify",
            None,
            Send::Raw(&format!("multipart/form-data; boundary={boundary}"), body),
            true,
        )
    }
    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }
}

/// Checks what every public page must have.
fn well_formed(html: &str) {
    assert!(html.contains("<html lang=\"zh-CN\""), "lang attribute");
    assert!(html.contains("<title>"), "title");
}

#[test]
fn receipt_pages_on_sqlite() {
    let s = start();
    let collector = s.login("s-collector");
    let collector2 = s.login("s-collector2");
    let finance = s.login("s-finance");

    // A cash payment at the counter for room 202.
    let paid = s.api(
        "POST",
        "/api/v1/estates/sample/payments",
        &collector,
        Some(json!({"amount": "100.00", "method": "cash", "room_ids": [s.ids.room_202], "idempotency_key": "receipt-pages-0001"})),
    );
    let pid = paid["id"].as_i64().unwrap();
    let mut r = s
        .block(s.app.store.receipt_of_payment(pid))
        .unwrap()
        .expect("every payment gets a receipt");
    let token = r.token.clone();
    let page = format!("/r/{token}");

    // Not signed yet (the counter API leaves it to the receipt job): the
    // page says so and the PDF waits.
    if r.status == "pending" {
        let a = s.get(&page);
        assert_eq!(a.status, 200);
        assert!(a.text().contains("开具中"), "{}", a.text());
        assert!(a.text().contains("class=\"banner pending\""));
        let a = s.get(&format!("{page}/pdf?format=a4"));
        assert_eq!(a.status, 409, "{}", a.text());
        assert!(a.text().contains("正在开具"), "{}", a.text());
        r = s.block(s.app.issue_receipt(r.id)).unwrap();
    }
    assert_eq!(r.status, "issued");
    let number = doorstep_receipt::number_display(r.number);

    // The owner's page: valid, the verified content, the evidence proof.
    let a = s.get(&page);
    assert_eq!(a.status, 200, "{}", a.text());
    let html = a.text();
    well_formed(&html);
    assert!(html.contains(&number), "{html}");
    assert!(
        html.contains("class=\"banner valid\"") && html.contains("有效"),
        "{html}"
    );
    assert!(html.contains("幸福家园物业有限公司"), "company");
    assert!(html.contains("3号楼202室") || html.contains("202"), "room");
    assert!(html.contains("100.00"), "total");
    assert!(html.contains("壹佰元整"), "total in capitals: {html}");
    assert!(html.contains("现金"), "method");
    assert!(html.contains("已验证 ✓"), "evidence proof verified: {html}");
    assert!(
        html.contains("<pre id=\"checkpoint\">doorstep/company/"),
        "{html}"
    );
    assert!(html.contains("href=\"/verify\""));
    for f in ["a4", "a5", "80mm"] {
        assert!(html.contains(&format!("{page}/pdf?format={f}")), "{f}");
    }
    assert!(html.contains(&format!("{page}/invoice")));
    // English on request.
    let en = {
        let agent = ureq::AgentBuilder::new().build();
        agent
            .get(&format!("{}{page}", s.base))
            .set("Cookie", "lang=en")
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    };
    assert!(
        en.contains("<html lang=\"en\"") && en.contains("Valid"),
        "{en}"
    );

    let a = s.req(
        "GET",
        &format!("/r/prefs?lang=en&back={page}"),
        None,
        Send::Nothing,
        false,
    );
    assert_eq!((a.status, a.location.as_str()), (303, page.as_str()));
    assert!(a.set_cookie.starts_with("lang=en;"), "{}", a.set_cookie);
    let a = s.req(
        "GET",
        "/r/prefs?big=1&back=//evil.example/r/x",
        None,
        Send::Nothing,
        false,
    );
    assert_eq!(a.location, "/verify", "never off-site");

    // PDFs.
    let a = s.get(&format!("{page}/pdf?format=80mm"));
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.body.starts_with(b"%PDF"));
    assert_eq!(a.content_type, "application/pdf");
    assert_eq!(
        a.disposition,
        format!("inline; filename=\"receipt-{number}.pdf\"")
    );
    let pdf = s.get(&format!("{page}/pdf?format=a4")).body;
    assert!(pdf.starts_with(b"%PDF"));
    let a = s.get(&format!("{page}/pdf?format=a3"));
    assert_eq!(a.status, 422);
    assert!(a.text().contains("format"), "{}", a.text());

    // A copy for a son's phone: a bad number is named and nothing queued.
    let before = s.block(s.app.store.outbox(None, 1000)).unwrap().len();
    let a = s.post_form(&format!("{page}/copy"), &[("phone", "12345")]);
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(a.text().contains("手机号码"), "{}", a.text());
    assert!(a.text().contains("aria-invalid=\"true\""));
    assert_eq!(
        s.block(s.app.store.outbox(None, 1000)).unwrap().len(),
        before
    );
    let a = s.post_form(&format!("{page}/copy"), &[("phone", "139 0000 0009")]);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(
        a.text().contains("已安排发送") && a.text().contains("139****0009"),
        "{}",
        a.text()
    );
    let sent = s
        .block(s.app.store.outbox(Some("13900000009"), 10))
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains(&token), "{}", sent[0].body);

    // Invoices: a company without a tax id is refused, naming the field,
    // the form kept; nothing is stored.
    let inv = format!("{page}/invoice");
    let a = s.get(&inv);
    assert_eq!(a.status, 200);
    well_formed(&a.text());
    assert!(a.text().contains("for=\"f-tax_id\""), "labels");
    let a = s.post_form(
        &inv,
        &[
            ("kind", "company"),
            ("title", "福州某某科技有限公司"),
            ("tax_id", ""),
            ("email", "finance@example.com"),
        ],
    );
    assert_eq!(a.status, 422, "{}", a.text());
    let html = a.text();
    assert!(html.contains("纳税人识别号"), "{html}");
    assert!(html.contains("id=\"f-tax_id-err\""), "{html}");
    assert!(
        html.contains("value=\"福州某某科技有限公司\""),
        "kept: {html}"
    );
    assert!(
        s.block(s.app.store.receipt_invoice_requests(r.id))
            .unwrap()
            .is_empty()
    );
    // A wrong check character is named too.
    let a = s.post_form(
        &inv,
        &[
            ("kind", "company"),
            ("title", "福州某某科技有限公司"),
            ("tax_id", "91350100M000100Y44"),
            ("email", "finance@example.com"),
        ],
    );
    assert_eq!(a.status, 422);
    assert!(a.text().contains("id=\"f-tax_id-err\""));
    assert!(
        s.block(s.app.store.receipt_invoice_requests(r.id))
            .unwrap()
            .is_empty()
    );
    // A valid one is stored once.
    let uscc = "91350100M000100Y43";
    assert!(doorstep_domain::cn::CreditCode::parse(uscc).is_ok());
    let good = [
        ("kind", "company"),
        ("title", "福州某某科技有限公司"),
        ("tax_id", uscc),
        ("email", "finance@example.com"),
        ("phone", ""),
        ("address", "福州市鼓楼区 0591-12345678"),
        ("bank", ""),
    ];
    let a = s.post_form(&inv, &good);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(
        a.text().contains("已提交开票申请") && a.text().contains("待开票"),
        "{}",
        a.text()
    );
    let reqs = s.block(s.app.store.receipt_invoice_requests(r.id)).unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].tax_id.as_deref(), Some(uscc));
    let a = s.post_form(&inv, &good);
    assert_eq!(a.status, 409, "{}", a.text());
    assert!(a.text().contains("都已申请过发票"), "{}", a.text());
    assert_eq!(
        s.block(s.app.store.receipt_invoice_requests(r.id))
            .unwrap()
            .len(),
        1
    );

    // /verify by number and by PDF.
    let a = s.get("/verify");
    assert_eq!(a.status, 200);
    well_formed(&a.text());
    // A number alone says it exists; the QR code's link (number and code)
    // gives the verdict with the masked payer.
    let a = s.get(&format!(
        "/verify?company={}&number={}",
        r.company_id, number
    ));
    assert_eq!(a.status, 200);
    assert!(
        a.text().contains("编号存在") && !a.text().contains("张*"),
        "{}",
        a.text()
    );
    let by_number = s
        .app
        .verify_url(&r, r.note.as_deref().unwrap())
        .replace(&s.base, "");
    let a = s.get(&by_number);
    assert_eq!(a.status, 200);
    assert!(a.text().contains("真实有效"), "{}", a.text());
    assert!(a.text().contains("张*"), "payer masked: {}", a.text());
    assert!(!a.text().contains("张三"), "payer masked");
    let a = s.get("/verify?company=x&number=1");
    assert_eq!(a.status, 422);
    assert!(a.text().contains("公司编号"), "{}", a.text());
    let a = s.get(&format!("/verify?company={}&number=99999", r.company_id));
    assert!(a.text().contains("无效"), "{}", a.text());
    let a = s.upload(&pdf);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().contains("真实有效"), "{}", a.text());
    let a = s.upload(b"%PDF-1.7 not a receipt");
    assert!(a.text().contains("无效"), "{}", a.text());

    // Staff: the estate's receipts, a PDF, the audit.
    let a = s.staff_get("/console/sample/receipts", &collector);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().contains(&format!("No.{number}")), "{}", a.text());
    assert!(a.text().contains(&format!("/r/{token}")));
    let a = s.staff_get(
        &format!("/console/receipts/{}/pdf?format=a5", r.id),
        &collector,
    );
    assert_eq!(a.status, 200);
    assert!(a.body.starts_with(b"%PDF"));
    let a = s.staff_get("/console/sample/receipts?audit=1", &finance);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().contains("完整"), "{}", a.text());
    let a = s.staff_get("/console/sample/receipts?audit=1", &collector);
    assert_eq!(a.status, 403);

    // The owner's evidence bundle.
    let room = format!("room:{}", s.ids.room_202);
    let a = s.staff_form(
        "/console/sample/evidence/export",
        &collector,
        &[("object", &room)],
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.content_type, "application/zip");
    assert!(
        a.disposition.contains("evidence-sample-"),
        "{}",
        a.disposition
    );
    assert!(a.body.starts_with(b"PK"));
    let a = s.staff_form(
        "/console/sample/evidence/export",
        &collector,
        &[("objects", "house:1")],
    );
    assert_eq!(a.status, 303);
    assert!(a.location.contains("err="), "{}", a.location);

    // The invoice queue: finance only; record that it was issued.
    let a = s.staff_get("/console/invoices?estate=sample&status=requested", &finance);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().contains("福州某某科技有限公司") && a.text().contains(uscc));
    let a = s.staff_get("/console/invoices", &collector);
    assert_eq!(a.status, 403);
    let a = s.staff_get("/console/invoices.xlsx?status=requested", &finance);
    assert_eq!(a.status, 200);
    assert!(a.body.starts_with(b"PK"));
    assert!(a.content_type.contains("spreadsheetml"));
    let outcome = format!("/console/invoices/{}/outcome", reqs[0].id);
    let a = s.staff_form(
        &outcome,
        &finance,
        &[
            ("status", "issued"),
            ("invoice_no", ""),
            ("back", "/console/invoices"),
        ],
    );
    assert_eq!(a.status, 303);
    assert!(a.location.contains("err="), "{}", a.location);
    let a = s.staff_form(
        &outcome,
        &finance,
        &[
            ("status", "issued"),
            ("invoice_no", "25350000000012345678"),
            ("file_url", "javascript:alert(1)"),
            ("back", "/console/invoices"),
        ],
    );
    assert!(a.location.contains("err="), "{}", a.location);
    let a = s.staff_form(
        &outcome,
        &finance,
        &[
            ("status", "issued"),
            ("invoice_no", "25350000000012345678"),
            ("file_url", "https://example.com/invoice.pdf"),
            ("back", "/console/invoices"),
        ],
    );
    assert_eq!(a.status, 303);
    assert!(
        a.location.starts_with("/console/invoices?ok="),
        "{}",
        a.location
    );
    let a = s.get(&inv);
    assert!(
        a.text().contains("已开票") && a.text().contains("25350000000012345678"),
        "{}",
        a.text()
    );
    assert!(a.text().contains("https://example.com/invoice.pdf"));

    // A fee item's tax data, the rate in percent.
    let item = s
        .block(s.app.store.list_fee_items(s.ids.estate_id))
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let tax = format!("/console/fee-items/{}/tax", item.id);
    let a = s.staff_get(&tax, &finance);
    assert_eq!(a.status, 200, "{}", a.text());
    let a = s.staff_form(&tax, &finance, &[("tax_code", "1234"), ("vat_rate", "6")]);
    assert_eq!(a.status, 422);
    assert!(a.text().contains("19 位"), "{}", a.text());
    let a = s.staff_form(
        &tax,
        &finance,
        &[("tax_code", "3040802010000000000"), ("vat_rate", "6.5.1")],
    );
    assert_eq!(a.status, 422);
    assert!(a.text().contains("税率"), "{}", a.text());
    let a = s.staff_form(
        &tax,
        &collector,
        &[("tax_code", "3040802010000000000"), ("vat_rate", "6")],
    );
    assert_eq!(a.status, 403);
    let a = s.staff_form(
        &tax,
        &finance,
        &[("tax_code", "3040802010000000000"), ("vat_rate", "5.5")],
    );
    assert_eq!(a.status, 303, "{}", a.text());
    assert_eq!(
        s.block(s.app.store.fee_item_tax(item.id)).unwrap(),
        ("3040802010000000000".to_string(), 550)
    );

    // A void: asked for by a collector, approved by finance.
    let void = format!("/console/receipts/{}/void", r.id);
    let back = "/console/sample/receipts";
    let a = s.staff_form(&void, &collector, &[("reason", " "), ("back", back)]);
    assert!(
        a.location.starts_with(back) && a.location.contains("err="),
        "{}",
        a.location
    );
    let a = s.staff_form(&void, &collector, &[("reason", "录错了"), ("back", back)]);
    assert_eq!(a.status, 303);
    assert!(
        a.location.starts_with(back) && a.location.contains("ok="),
        "{}",
        a.location
    );
    let a = s.staff_get(&a.location, &collector);
    assert!(
        a.text().contains("已提交作废申请，待财务审批"),
        "{}",
        a.text()
    );
    let list = s.api("GET", "/api/v1/estates/sample/reversals", &finance, None);
    let rev = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["payment_id"].as_i64() == Some(pid) && x["status"] == "requested")
        .cloned()
        .unwrap();
    let a = s.req(
        "POST",
        &format!("/api/v1/reversals/{}/decision", rev["id"]),
        Some(&collector2),
        Send::Json(json!({"approve": true})),
        false,
    );
    assert_eq!(a.status, 403, "a collector cannot approve");
    let done = s.api(
        "POST",
        &format!("/api/v1/reversals/{}/decision", rev["id"]),
        &finance,
        Some(json!({"approve": true})),
    );
    assert_eq!(done["status"], "done", "{done}");

    let a = s.get(&page);
    assert_eq!(a.status, 200);
    let html = a.text();
    assert!(
        html.contains("class=\"banner void\"") && html.contains("已作废"),
        "{html}"
    );
    assert!(html.contains("录错了"), "reason shown");
    assert!(!html.contains("class=\"banner valid\""));
    // The payment's and the void's records, proven against one checkpoint.
    let sizes: Vec<&str> = html
        .split("日志大小</dt><dd>")
        .skip(1)
        .map(|x| x.split('<').next().unwrap())
        .collect();
    assert_eq!(sizes.len(), 2, "{html}");
    assert_eq!(sizes[0], sizes[1]);
    assert_eq!(html.matches("已验证 ✓").count(), 2);
    assert!(
        !html.contains("action=\"/r/"),
        "no forms on a void receipt: {html}"
    );
    let a = s.get(&by_number);
    assert!(
        a.text().contains("已作废") && !a.text().contains("真实有效"),
        "{}",
        a.text()
    );
    let a = s.upload(&pdf);
    assert!(a.text().contains("已作废"), "{}", a.text());
    let a = s.post_form(&inv, &good);
    assert_eq!(a.status, 409);
    assert!(a.text().contains("已作废"), "{}", a.text());
    let a = s.post_form(&format!("{page}/copy"), &[("phone", "13900000009")]);
    assert_eq!(a.status, 409);
    let a = s.get(&format!("{page}/pdf?format=a4"));
    assert_eq!(a.status, 200, "a void receipt still prints, marked void");
    // Voided already: a second request is refused.
    let a = s.staff_form(&void, &collector, &[("reason", "again"), ("back", back)]);
    assert!(a.location.contains("err="), "{}", a.location);

    // Unknown tokens.
    for t in ["unknowntoken", "00000000000000000000000000000000"] {
        let a = s.get(&format!("/r/{t}"));
        assert_eq!(a.status, 404, "{t}");
        well_formed(&a.text());
        assert!(a.text().contains("没有找到"), "{}", a.text());
        assert!(!a.text().contains("receipt not found"), "no details");
        assert_eq!(s.get(&format!("/r/{t}/pdf")).status, 404);
        assert_eq!(s.get(&format!("/r/{t}/invoice")).status, 404);
    }
}
