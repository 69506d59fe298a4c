//! The access matrix, generated from the OpenAPI document: every operation
//! is called by everyone who must not reach the victim's objects — a user of
//! another estate of the same company, company B's admin, a role without the
//! permission, another owner, another collector — and must answer 401, 403
//! or 404, show none of the victim's data and change nothing in the
//! database. The same request by someone allowed must then get past the
//! scope check (the positive control). A new operation fails this test until
//! its path parameters, body and access are named in the tables below.
//!
//! Real server on 127.0.0.1:0, real SQLite file, the payment simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, SampleIds, seed_collecting, seed_sample};
use doorstep_domain::{ObjectKind, Permission, Role};
use doorstep_store::{NewUser, Store};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// 张三's phone, name and holdings: the victim's data no outsider may see.
const MARKERS: [&str; 4] = ["13812345678", "张三", "3号楼202室", "车位B007"];
/// 李四: the other owner of estate `sample`.
const OTHER_OWNER: &str = "13900000001";

/// The victim's objects, all in estate `sample` of company A.
#[derive(Debug, Clone, Default)]
struct Victim {
    room: i64,
    space: i64,
    owner: i64,
    fee_item: i64,
    line: i64,
    dispute: i64,
    /// 张三's visit, on `route_collector`'s route.
    booking: i64,
    /// A QR order at that visit.
    order: i64,
    /// A cash payment recorded at that visit.
    payment: i64,
    receipt: i64,
    receipt_token: String,
    shift: i64,
    reversal: i64,
    invoice: i64,
    merchant: i64,
    company: i64,
    leaf: i64,
    /// The collector whose route holds the visit.
    route_collector: String,
    route_collector_id: i64,
    /// The other collector of `sample`.
    other_collector: String,
}

/// Captures the SMS the app sends, so owners can sign in.
struct Phone(Arc<Mutex<Vec<(String, String)>>>);

#[async_trait::async_trait]
impl doorstep_app::notify::Gateway for Phone {
    fn channel(&self) -> &'static str {
        "sms"
    }
    async fn send(&self, recipient: &str, body: &str) -> Result<(), String> {
        self.0.lock().unwrap().push((recipient.into(), body.into()));
        Ok(())
    }
}

struct Fx {
    base: String,
    sms: Arc<Mutex<Vec<(String, String)>>>,
    rt: tokio::runtime::Handle,
    app: App,
    db: PathBuf,
    ids: SampleIds,
    tokens: BTreeMap<String, String>,
    v: Victim,
    _dir: tempfile::TempDir,
}

fn start() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("doorstep.sqlite");
    let file = db.clone();
    let sms = Arc::new(Mutex::new(Vec::new()));
    let phone = Phone(sms.clone());
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
            let (_sim, _sim_base, wechat, alipay) =
                doorstep_paysim::kit::start(0, |c| c.retry_scale = 0.01)
                    .await
                    .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let mut app = App::new(store);
            app.pay.public_url = base.clone();
            app.pay.code_wait = Duration::from_secs(8);
            app.pay.code_poll = Duration::from_millis(200);
            app.gateways.push(Arc::new(phone));
            let ids = seed_sample(&app).await.unwrap();
            seed_collecting(&app, "sample", &wechat, &alipay)
                .await
                .unwrap();
            more_people(&app, &ids).await;
            tx.send((base, handle, app.clone(), ids)).unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    let (base, rt, app, ids) = rx.recv().unwrap();
    let mut fx = Fx {
        base,
        sms,
        rt,
        app,
        db,
        ids,
        tokens: BTreeMap::new(),
        v: Victim::default(),
        _dir: dir,
    };
    for u in [
        "s-admin",
        "s-finance",
        "s-dispatcher",
        "s-collector",
        "s-collector2",
        "s-other",
        "o-dispatcher",
        "o-collector",
        "b-admin",
    ] {
        let t = fx.login(u);
        fx.tokens.insert(u.into(), t);
    }
    for phone in ["13812345678", OTHER_OWNER] {
        let t = fx.owner_session(phone);
        fx.tokens.insert(phone.into(), t);
    }
    fx.v = victim(&fx);
    fx
}

/// Users of estate `other` in each role that can be scoped, and company B
/// with its own estate and admin.
async fn more_people(app: &App, ids: &SampleIds) {
    let hash = doorstep_app::auth::hash_password(SAMPLE_PASSWORD).unwrap();
    let a = app.store.estate_by_id(ids.estate_id).await.unwrap();
    let b = app
        .store
        .create_company("乙方物业有限公司", "91110000MA01ABCD2Q")
        .await
        .unwrap();
    let bco = app
        .store
        .create_estate(
            b.id,
            &doorstep_store::EstateInput {
                code: doorstep_domain::EstateCode::parse("bco").unwrap(),
                name: "乙方小区".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    for (u, company, role, scope) in [
        (
            "o-dispatcher",
            a.company_id,
            Role::Dispatcher,
            ids.other_estate_id,
        ),
        (
            "o-collector",
            a.company_id,
            Role::Collector,
            ids.other_estate_id,
        ),
        ("b-admin", b.id, Role::Admin, bco.id),
    ] {
        app.store
            .create_user(&NewUser {
                company_id: company,
                username: u.into(),
                display_name: u.into(),
                password_hash: hash.clone(),
                role,
                estate_ids: vec![scope],
            })
            .await
            .unwrap();
    }
}

fn next_weekday() -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let mut d = jiff::Timestamp::now().to_zoned(tz).date();
    loop {
        d = d.tomorrow().unwrap();
        if d.weekday().to_monday_one_offset() <= 5 {
            return d;
        }
    }
}

impl Fx {
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String) {
        let mut req =
            ureq::request(method, &format!("{}{path}", self.base)).timeout(Duration::from_secs(60));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let res = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
    fn ok(&self, method: &str, path: &str, user: &str, body: Option<Value>) -> Value {
        let (s, text) = self.call(method, path, Some(&self.tokens[user]), body.as_ref());
        assert!(
            (200..300).contains(&s),
            "{method} {path} as {user}: {s} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
    fn login(&self, user: &str) -> String {
        let (s, text) = self.call(
            "POST",
            "/api/v1/login",
            None,
            Some(&json!({"username": user, "password": SAMPLE_PASSWORD})),
        );
        assert_eq!(s, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["token"].as_str().unwrap().to_string()
    }
    /// Signs an owner in by SMS code, the code read from the captured SMS.
    fn owner_session(&self, phone: &str) -> String {
        let (s, text) = self.call(
            "POST",
            "/api/v1/owner/code",
            None,
            Some(&json!({"phone": phone})),
        );
        assert_eq!(s, 200, "{text}");
        let app = self.app.clone();
        self.rt
            .block_on(async move { app.deliver_due().await })
            .unwrap();
        let body = self
            .sms
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(to, _)| to == phone)
            .map(|(_, b)| b.clone())
            .unwrap();
        let code: String = body.chars().filter(char::is_ascii_digit).take(6).collect();
        let (s, text) = self.call(
            "POST",
            "/api/v1/owner/session",
            None,
            Some(&json!({"phone": phone, "code": code})),
        );
        assert_eq!(s, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["token"].as_str().unwrap().to_string()
    }
    /// Every table's rows, as SQLite quotes them: what "nothing changed" compares.
    fn digest(&self) -> BTreeMap<String, String> {
        let db = self.db.clone();
        self.rt.block_on(async move {
            use sqlx::Row;
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&db)
                .read_only(true);
            let mut c = sqlx::ConnectOptions::connect(&opts).await.unwrap();
            let tables: Vec<String> = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
            )
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            let mut out = BTreeMap::new();
            for t in tables.into_iter().filter(|t| !VOLATILE.contains(&t.as_str())) {
                let cols: Vec<String> = sqlx::query(&format!("SELECT name FROM pragma_table_info('{t}')"))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| format!("quote(\"{}\")", r.get::<String, _>(0)))
                    .collect();
                let rows: Option<String> = sqlx::query(&format!(
                    "SELECT group_concat(x, char(10)) FROM (SELECT {} AS x FROM \"{t}\" ORDER BY 1)",
                    cols.join(" || ',' || ")
                ))
                .fetch_one(&mut c)
                .await
                .unwrap()
                .get(0);
                out.insert(t, rows.unwrap_or_default());
            }
            out
        })
    }
}

/// Tables a refused request may touch by design: sign-in sessions (their
/// last use) and the lease of jobs run on demand.
const VOLATILE: [&str; 3] = ["sessions", "owner_sessions", "job_leases"];

/// Builds the victim's objects through the API, as staff would.
fn victim(fx: &Fx) -> Victim {
    let day = next_weekday().to_string();
    let mut v = Victim {
        room: fx.ids.room_202,
        space: fx.ids.space_b007,
        ..Default::default()
    };
    let owners = fx.ok(
        "GET",
        "/api/v1/estates/sample/owners?q=张三",
        "s-admin",
        None,
    );
    v.owner = owners[0]["id"].as_i64().unwrap();
    let items = fx.ok("GET", "/api/v1/estates/sample/fee-items", "s-admin", None);
    v.fee_item = items[0]["id"].as_i64().unwrap();
    let arrears = fx.ok(
        "GET",
        "/api/v1/estates/sample/arrears?as_of=2026-06-30&q=张三",
        "s-admin",
        None,
    );
    v.line = arrears["rows"][0]["line_id"].as_i64().unwrap();
    let d = fx.ok(
        "POST",
        "/api/v1/estates/sample/disputes",
        "s-finance",
        Some(json!({"owner": "张三", "topic": "面积有异议", "room": v.room})),
    );
    v.dispute = d["id"].as_i64().unwrap();
    let b = fx.ok(
        "POST",
        "/api/v1/estates/sample/bookings",
        "s-dispatcher",
        Some(json!({"targets": [{"kind": "room", "id": v.room}, {"kind": "space", "id": v.space}], "date": day, "start": "19:00"})),
    );
    v.booking = b["id"].as_i64().unwrap();
    fx.ok(
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        "s-dispatcher",
        Some(json!({"date": day})),
    );
    let b = fx.ok(
        "GET",
        &format!("/api/v1/bookings/{}", v.booking),
        "s-dispatcher",
        None,
    );
    v.route_collector_id = b["collector_id"].as_i64().unwrap();
    for (mine, other) in [
        ("s-collector", "s-collector2"),
        ("s-collector2", "s-collector"),
    ] {
        if fx.ok("GET", "/api/v1/me", mine, None)["id"].as_i64() == Some(v.route_collector_id) {
            v.route_collector = mine.into();
            v.other_collector = other.into();
        }
    }
    assert!(
        !v.route_collector.is_empty(),
        "the visit went to neither collector"
    );
    // A payment at the office names the room: its record is about it.
    fx.ok(
        "POST",
        "/api/v1/estates/sample/payments",
        "s-finance",
        Some(json!({"amount": "10.00", "room_ids": [v.room]})),
    );
    let c = v.route_collector.clone();
    let shift = fx.ok("POST", "/api/v1/estates/sample/shifts", &c, None);
    v.shift = shift["id"].as_i64().unwrap();
    let cash = fx.ok(
        "POST",
        &format!("/api/v1/visits/{}/cash", v.booking),
        &c,
        Some(json!({"amount": "100.00", "client_key": "victim-cash-01"})),
    );
    v.payment = cash["payment"]["id"].as_i64().unwrap();
    let qr = fx.ok(
        "POST",
        &format!("/api/v1/visits/{}/qr", v.booking),
        &c,
        Some(json!({"provider": "wechat", "amount": "50.00"})),
    );
    v.order = qr["id"].as_i64().unwrap();
    let rc = fx.ok(
        "GET",
        &format!("/api/v1/payments/{}/receipt", v.payment),
        "s-finance",
        None,
    );
    v.receipt = rc["id"].as_i64().unwrap();
    v.company = rc["company_id"].as_i64().unwrap();
    v.leaf = rc["leaf_index"].as_i64().unwrap();
    let (store, pid) = (fx.app.store.clone(), v.payment);
    let r = fx
        .rt
        .block_on(async move { store.receipt_of_payment(pid).await })
        .unwrap()
        .unwrap();
    v.receipt_token = r.token;
    let inv = fx.ok(
        "POST",
        &format!("/api/v1/receipt-links/{}/invoice", v.receipt_token),
        "s-finance",
        Some(json!({"kind": "personal", "title": "张三", "email": "zs@example.com"})),
    );
    v.invoice = inv["id"].as_i64().unwrap();
    let rev = fx.ok(
        "POST",
        &format!("/api/v1/payments-recorded/{}/reversals", v.payment),
        &c,
        Some(json!({"kind": "void", "reason": "录错了"})),
    );
    v.reversal = rev["id"].as_i64().unwrap();
    let (store, company) = (fx.app.store.clone(), v.company);
    v.merchant = fx
        .rt
        .block_on(async move { store.merchants(company).await })
        .unwrap()[0]
        .id;
    v
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone: the reason it is public (printed when the matrix runs).
    Public(&'static str),
    /// Any signed-in staff user, about themselves only.
    Session,
    /// Staff whose role grants the permission, in the estate's scope.
    Staff(Permission),
    /// Staff with the permission, or the owner of the objects.
    StaffOrOwner(Permission),
    /// A signed-in owner, about their own rooms only.
    Owner,
    /// The collector whose route holds the visit (or staff who dispatch).
    Route(Permission),
}

/// Every operation's access. A missing one fails the matrix.
fn access(op: &str) -> Option<Access> {
    use Access::*;
    use Permission::*;
    Some(match op {
        "login" => Public("signing in"),
        "requestOwnerCode" | "verifyOwnerCode" => Public("owners sign in by SMS code"),
        "wechatpayNotify" | "alipayNotify" => {
            Public("the providers' notifications, verified by signature")
        }
        "verifyReceipt" => Public("anyone may check a receipt they hold"),
        "getReceiptByToken" | "requestInvoice" => {
            Public("the receipt link's unguessable token is the credential")
        }
        "getPublicCheckpoint" | "getPublicKeys" => {
            Public("a company's public keys and checkpoints")
        }
        "listSlots" => Public("owners see free slots before signing in"),
        "logout" | "getMe" => Session,
        "endOwnerSession" | "listOwnerTargets" | "listOwnerBookings" => Owner,
        "listEstates"
        | "getEstate"
        | "listBuildings"
        | "listRooms"
        | "listSpaces"
        | "listOwners"
        | "listFeeItems"
        | "getBookingRules"
        | "getDuty"
        | "getWalkingModel"
        | "listGeofences"
        | "getCheckpoint"
        | "getEvidenceProof"
        | "getConsistencyProof"
        | "listSigningKeys"
        | "getNoticeSettings" => Staff(ReadEstate),
        "createEstate" | "rotateSigningKey" => Staff(ManageUsers),
        "updateEstate" | "upsertBuilding" | "createRoom" | "updateRoom" | "createSpace"
        | "updateSpace" | "createOwner" | "updateOwner" => Staff(EditMasterData),
        "createFeeItem" | "updateFeeItem" | "setEnteredAmounts" | "setFeeItemTax" => {
            Staff(EditFees)
        }
        "getFeeItemTax" => Staff(ReadEstate),
        "runBilling" => Staff(RunBilling),
        "listArrears"
        | "exportEvidence"
        | "listNotices"
        | "openDispute"
        | "listDisputes"
        | "closeDispute"
        | "getCollectionReport"
        | "getCompanyReport"
        | "exportReport"
        | "getVisitReport"
        | "getReceipt"
        | "downloadReceipt"
        | "getPaymentReceipt" => Staff(ReadBills),
        "recordPayment" => Staff(RecordPayment),
        "waiveLateFee" | "waiveBillLine" | "setDispute" => Staff(Waive),
        "listBookings"
        | "getConfirmationQueue"
        | "listConfirmationQueue"
        | "recordConfirmationCall"
        | "assignBooking"
        | "getDispatchBoard"
        | "planDispatch"
        | "replanDispatch"
        | "lockDispatch"
        | "setBookingRules"
        | "setBookingDay"
        | "clearBookingDay"
        | "setDuty"
        | "listOutbox" => Staff(Dispatch),
        "createBooking" | "cancelBooking" | "rescheduleBooking" => StaffOrOwner(Dispatch),
        // Staff of the estate read its bookings (as they read its owners);
        // an owner only their own.
        "getBooking" | "getBookingHistory" => StaffOrOwner(ReadEstate),
        "getItinerary" | "listCollectorStops" | "syncOfflineActions" | "openShift"
        | "getMyShift" => Staff(Visit),
        "recordVisitOutcome" | "getCollectorStop" | "checkIn" | "recordCashPayment"
        | "createQrPayment" | "createCodePayment" | "recordSignature" | "getPayment"
        | "paymentEvents" | "cancelPayment" | "closeShift" => Route(Visit),
        "requestReversal" | "voidReceipt" => Staff(RecordPayment),
        "setWalkingModel" | "setGeofence" => Staff(Dispatch),
        "listReversals" => Staff(ReadBills),
        "submitHandover" | "approveHandoverDifference" => Staff(Treasury),
        // Only the collector whose shift it was answers its difference.
        "acknowledgeHandover" => Route(Visit),
        "getCashStatus"
        | "closeDay"
        | "decideReversal"
        | "reconcileProvider"
        | "checkLedger"
        | "listProviderEvents"
        | "listInvoiceRequests"
        | "recordInvoiceOutcome"
        | "sendOverdueNotices"
        | "setNoticeSettings"
        | "printNotices"
        | "auditEvidence" => Staff(Treasury),
        _ => return None,
    })
}

/// The victim's object a path parameter names. `None`: no mapping yet.
fn foreign(fx: &Fx, path: &str, name: &str) -> Option<String> {
    let v = &fx.v;
    let segment = path
        .split('/')
        .take_while(|s| *s != format!("{{{name}}}"))
        .last()
        .unwrap_or("");
    Some(match (name, segment) {
        ("date", _) => next_weekday().to_string(),
        ("user_id", _) => v.route_collector_id.to_string(),
        ("merchant", _) => v.merchant.to_string(),
        ("token", _) => v.receipt_token.clone(),
        ("index", _) => v.leaf.to_string(),
        ("id", "rooms") => v.room.to_string(),
        ("id", "spaces") => v.space.to_string(),
        ("id", "owners") => v.owner.to_string(),
        ("id", "fee-items") => v.fee_item.to_string(),
        ("id", "bill-lines") => v.line.to_string(),
        ("id", "disputes") => v.dispute.to_string(),
        ("id", "bookings" | "visits") => v.booking.to_string(),
        ("id", "payments") => v.order.to_string(),
        ("id", "payments-recorded") => v.payment.to_string(),
        ("id", "receipts") => v.receipt.to_string(),
        ("id", "shifts") => v.shift.to_string(),
        ("id", "reversals") => v.reversal.to_string(),
        ("id", "invoice-requests") => v.invoice.to_string(),
        ("id", "companies") => v.company.to_string(),
        _ => return None,
    })
}

/// A valid body for each operation that takes one, naming the victim's
/// objects wherever a body names any. Second: whether it does.
fn body(fx: &Fx, op: &str) -> Option<(Value, bool)> {
    let v = &fx.v;
    let day = next_weekday().to_string();
    Some(match op {
        "login" => (
            json!({"username": "s-admin", "password": SAMPLE_PASSWORD}),
            false,
        ),
        "createEstate" => (json!({"code": "matrix-new", "name": "新小区"}), false),
        "updateEstate" => (json!({"code": "sample", "name": "改名"}), false),
        "upsertBuilding" => (
            json!({"name": "9", "entrances": 1, "floors": 6, "has_lift": false}),
            false,
        ),
        "createRoom" => (
            json!({"building": "3", "floor": 9, "number": "909", "area": "80.00"}),
            false,
        ),
        "updateRoom" => (
            json!({"building": "3", "floor": 2, "number": "202", "area": "1.00"}),
            false,
        ),
        "createSpace" => (json!({"code": "M001"}), false),
        "updateSpace" => (json!({"code": "B007", "level": "改"}), false),
        "createOwner" => (
            json!({"name": "新业主", "phones": ["13700000009"], "room_ids": [v.room]}),
            true,
        ),
        "updateOwner" => (json!({"name": "改名", "phones": ["13812345678"]}), false),
        "createFeeItem" | "updateFeeItem" => (
            json!({"code": "matrix", "name": "测试费", "category": "other", "basis": "per_room", "cycle": "monthly",
                "price": 100, "due_day": 15, "late_fee": {"enabled": false, "grace_days": 0, "daily_rate_ppm": 0, "cap": {"kind": "none"}}}),
            false,
        ),
        "setEnteredAmounts" => (
            json!({"period": "2026-03", "amounts": [{"room_id": v.room, "amount": "1.00"}]}),
            true,
        ),
        "runBilling" => (json!({"period": "2026-03"}), false),
        "recordPayment" => (json!({"amount": "1.00", "room_ids": [v.room]}), true),
        "waiveLateFee" | "waiveBillLine" => (json!({"reason": "matrix"}), false),
        "setDispute" => (json!({"reason": "matrix"}), false),
        "requestOwnerCode" => (json!({"phone": "13812345678"}), false),
        "verifyOwnerCode" => (json!({"phone": "13812345678", "code": "000000"}), false),
        "createBooking" => (
            json!({"targets": [{"kind": "room", "id": v.room}], "date": day, "start": "19:30"}),
            true,
        ),
        "cancelBooking" => (json!({"reason": "matrix"}), false),
        "rescheduleBooking" => (json!({"date": day, "start": "20:00"}), false),
        "recordConfirmationCall" => (json!({"outcome": "no_answer"}), false),
        "recordVisitOutcome" => (json!({"result": "owner_absent"}), false),
        "assignBooking" => (json!({"collector_id": v.route_collector_id}), true),
        "planDispatch" | "replanDispatch" => (json!({"date": day}), false),
        "lockDispatch" => (json!({"date": day, "locked": false}), false),
        "setBookingRules" => (
            json!({"weekday": "19:00-21:00", "weekend": "09:00-12:00", "slot_minutes": 30, "visits_per_collector": 8,
                "cutoff_minutes": 60, "reminder_minutes": 60, "service_minutes": 10, "horizon_days": 14}),
            false,
        ),
        "setBookingDay" => (json!({"kind": "workday"}), false),
        "setDuty" => (json!({"on_duty": false}), false),
        "setWalkingModel" => (json!("speed 1.2"), false),
        "checkIn" => (
            json!({"lat": 31.2304, "lng": 121.4749, "accuracy": 10, "client_key": "matrix-ci-1"}),
            false,
        ),
        "recordCashPayment" => (
            json!({"amount": "1.00", "client_key": "matrix-cash-1"}),
            false,
        ),
        "createQrPayment" => (json!({"provider": "wechat", "amount": "1.00"}), false),
        "createCodePayment" => (
            json!({"provider": "wechat", "amount": "1.00", "auth_code": "134567890123456789"}),
            false,
        ),
        "recordSignature" => (signature_body(v.booking), false),
        "syncOfflineActions" => (
            json!({"actions": [{"kind": "outcome", "booking_id": v.booking, "client_key": "matrix-sync-1", "result": "owner_absent"}]}),
            true,
        ),
        "submitHandover" => (json!({"counted": "100.00", "reason": "matrix"}), false),
        "acknowledgeHandover" => (json!({"dispute": false}), false),
        "closeDay" => (json!({}), false),
        "requestReversal" => (json!({"kind": "void", "reason": "matrix"}), false),
        "decideReversal" => (json!({"approve": false}), false),
        "reconcileProvider" => (json!({"provider": "wechat", "date": "2026-01-05"}), false),
        "setGeofence" => (
            json!({"area_kind": "building", "area": "3", "lat_e6": 31230400, "lng_e6": 121474900, "radius_m": 70}),
            false,
        ),
        "wechatpayNotify" => (json!({}), false),
        "alipayNotify" => (json!({}), false),
        "voidReceipt" => (json!({"reason": "matrix"}), false),
        "verifyReceipt" => (json!({"company_id": v.company, "number": 1}), false),
        "requestInvoice" => (json!({"kind": "personal", "title": "张三"}), false),
        "recordInvoiceOutcome" => (json!({"status": "failed", "reason": "matrix"}), false),
        "setFeeItemTax" => (
            json!({"tax_code": "3040801010000000000", "vat_rate_bp": 600}),
            false,
        ),
        "sendOverdueNotices" => (json!({"as_of": "2026-06-30", "rooms": [v.room]}), true),
        "setNoticeSettings" => (json!({"office_phone": "010-12345678"}), false),
        "openDispute" => (
            json!({"owner": "某人", "topic": "matrix", "room": v.room}),
            true,
        ),
        "closeDispute" => (json!({"outcome": "matrix"}), false),
        _ => return None,
    })
}

/// A 1×1 PNG signature for a visit.
fn signature_body(visit: i64) -> Value {
    const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let shown = json!({"amount_fen": 10000, "booking_id": visit, "lines": [], "payment_id": null});
    json!({
        "shown": doorstep_domain::jcs::to_string(&shown),
        "strokes": {"w": 300, "h": 150, "strokes": [[[10, 10, 0], [40, 30, 16], [80, 20, 33]]]},
        "png_base64": format!("data:image/png;base64,{PNG_B64}"),
        "client_key": "matrix-sig-1",
    })
}

/// Query strings an operation needs to get as far as its scope check.
fn query(op: &str, v: &Victim) -> String {
    match op {
        "exportEvidence" => format!("?room={}", v.room),
        "getCollectionReport" | "getCompanyReport" => "?period=2026-02".into(),
        "exportReport" => "?period=2026-02&estate=sample".into(),
        "getVisitReport" => "?from=2026-01-01&to=2026-12-31".into(),
        "printNotices" => format!("?as_of=2026-06-30&room={}", v.room),
        "getConsistencyProof" => "?from=1&to=2".into(),
        "listArrears" => "?as_of=2026-06-30".into(),
        _ => String::new(),
    }
}

/// One request of the matrix.
struct Probe {
    who: String,
    why: &'static str,
    method: String,
    path: String,
    body: Option<Value>,
    /// Unscoped operations (about oneself or one's company) may answer:
    /// only the victim's data must not show.
    may_succeed: bool,
}

/// The operations of the OpenAPI document: (method, path, operationId).
fn operations() -> Vec<(String, String, String)> {
    let doc = doorstep_web::openapi_document();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((
                method.to_uppercase(),
                path.clone(),
                op["operationId"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// The path with `{code}` as `code` and every other parameter the victim's.
fn fill(fx: &Fx, op: &str, path: &str, code: &str) -> String {
    let mut out = path.replace("{code}", code);
    while let Some(start) = out.find('{') {
        let end = out[start..].find('}').unwrap() + start;
        let name = out[start + 1..end].to_string();
        let value = foreign(fx, path, &name).unwrap_or_else(|| {
            panic!(
                "operation {op} ({path}): path parameter {{{name}}} has no foreign object in the access matrix; \
                 add the victim's object for it to `foreign` in crates/web/tests/access_matrix.rs"
            )
        });
        out.replace_range(start..=end, &value);
    }
    out + &query(op, &fx.v)
}

const ROLES: [(&str, Role); 3] = [
    ("s-finance", Role::Finance),
    ("s-dispatcher", Role::Dispatcher),
    ("s-collector", Role::Collector),
];

/// Everyone who must be refused, for one operation.
fn probes(fx: &Fx, method: &str, path: &str, op: &str, access: Access) -> Vec<Probe> {
    let has_code = path.contains("{code}");
    // A day is not an object: only ids name someone's things.
    let has_object =
        path.matches('{').count() > usize::from(has_code) + usize::from(path.contains("{date}"));
    let body = fx.is_body(op);
    let names_foreign = body.as_ref().is_some_and(|b| b.1);
    let body = body.map(|b| b.0);
    let mut out = Vec::new();
    let mut push = |who: &str, why: &'static str, code: &str, may_succeed: bool| {
        out.push(Probe {
            who: who.into(),
            why,
            method: method.into(),
            path: fill(fx, op, path, code),
            body: body.clone(),
            may_succeed,
        })
    };

    let perm = match access {
        Access::Staff(p) | Access::StaffOrOwner(p) | Access::Route(p) => Some(p),
        _ => None,
    };
    // (a) another estate of the same company, (b) another company.
    for (who, own, why_wrong, why_own) in [
        ("s-other", "other", "wrong estate", "wrong estate's object"),
        (
            "o-dispatcher",
            "other",
            "wrong estate",
            "wrong estate's object",
        ),
        (
            "o-collector",
            "other",
            "wrong estate",
            "wrong estate's object",
        ),
        ("b-admin", "bco", "wrong company", "wrong company's object"),
    ] {
        if has_code {
            push(who, why_wrong, "sample", false);
            if has_object || names_foreign {
                push(who, why_own, own, false);
            }
        } else if has_object || names_foreign {
            push(who, why_wrong, "sample", false);
        } else {
            // Company-wide or about oneself: may answer, never with the
            // victim's data.
            push(who, "outsider, unscoped operation", "sample", true);
        }
    }
    // (c) a role without the permission, in the right estate.
    if let Some(p) = perm {
        for (who, role) in ROLES {
            // The collector not on the victim's route: the one on it may
            // see the visit by design.
            let who = if role == Role::Collector {
                fx.v.other_collector.as_str()
            } else {
                who
            };
            if !role.allows(p) {
                push(who, "wrong role", "sample", false);
            }
        }
    }
    // (d) another owner, (e) another collector.
    let own_only = matches!(access, Access::Owner | Access::Session) && !has_object;
    push(OTHER_OWNER, "other owner", "sample", own_only);
    if matches!(access, Access::Route(_)) {
        push(&fx.v.other_collector, "other collector", "sample", false);
    }
    out
}

impl Fx {
    fn is_body(&self, op: &str) -> Option<(Value, bool)> {
        let doc = doorstep_web::openapi_document();
        let needs = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|i| i.as_object().unwrap().values())
            .any(|o| o["operationId"] == op && o.get("requestBody").is_some());
        if !needs {
            return None;
        }
        Some(body(self, op).unwrap_or_else(|| {
            panic!(
                "operation {op} takes a body and the access matrix has none for it; add a valid one \
                 (naming the victim's objects where the body names any) to `body` in crates/web/tests/access_matrix.rs"
            )
        }))
    }
    fn send(&self, p: &Probe) -> (u16, String) {
        if p.path.contains("/walking-model") && p.body.is_some() {
            let mut req = ureq::request(&p.method, &format!("{}{}", self.base, p.path))
                .set("Authorization", &format!("Bearer {}", self.tokens[&p.who]))
                .set("Content-Type", "text/plain");
            req = req.timeout(Duration::from_secs(60));
            return match req.send_string(SAMPLE_MODEL_EDIT) {
                Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
                Err(e) => panic!("{e}"),
            };
        }
        self.call(
            &p.method,
            &p.path,
            Some(&self.tokens[&p.who]),
            p.body.as_ref(),
        )
    }
}

const SAMPLE_MODEL_EDIT: &str = doorstep_app::demo::SAMPLE_MODEL;

/// Who may do it in the victim's estate, for the positive control.
fn allowed(fx: &Fx, access: Access) -> Option<String> {
    match access {
        Access::Public(_) => None,
        Access::Session | Access::Staff(_) | Access::StaffOrOwner(_) => Some("s-admin".into()),
        Access::Owner => Some("13812345678".into()),
        Access::Route(_) => Some(fx.v.route_collector.clone()),
    }
}

/// Names each table a refused request changed.
fn compare(fx: &Fx, op: &str, before: &BTreeMap<String, String>, failures: &mut Vec<String>) {
    for (t, rows) in &fx.digest() {
        if before.get(t) != Some(rows) {
            failures.push(format!("{op}: a refused request changed table {t}"));
        }
    }
}

#[test]
fn every_operation_refuses_everyone_outside_its_scope() {
    let fx = start();
    let ops = operations();
    let mut failures = Vec::new();
    let mut positives = Vec::new();
    for (method, path, op) in &ops {
        let access = access(op).unwrap_or_else(|| {
            panic!(
                "operation {op} ({method} {path}) is not in the access matrix; add who may call it to \
                 `access` in crates/web/tests/access_matrix.rs (Public with a reason, or its permission)"
            )
        });
        let path = path.trim_start_matches("/api/v1").to_string();
        let full = |p: &str| {
            if p.starts_with("/pay/") {
                p.to_string()
            } else {
                format!("/api/v1{p}")
            }
        };
        if let Access::Public(why) = access {
            eprintln!("public by design: {op} — {why}");
            // Still: the path and body must be mapped (a new public
            // operation is a decision, not an accident).
            let _ = fill(&fx, op, &path, "sample");
            let _ = fx.is_body(op);
            continue;
        }
        let before = fx.digest();
        let mut probes = probes(&fx, method, &path, op, access);
        // Refusals first (nothing may change), answers after the digest.
        probes.sort_by_key(|p| p.may_succeed);
        let mut compared = false;
        for mut p in probes {
            if p.may_succeed && !compared {
                compare(&fx, op, &before, &mut failures);
                compared = true;
            }
            p.path = full(&p.path);
            let (status, text) = fx.send(&p);
            let leaked: Vec<&str> = MARKERS
                .iter()
                .copied()
                .filter(|m| text.contains(m))
                .collect();
            let refused = [401, 403, 404].contains(&status);
            if (!refused && !p.may_succeed) || !leaked.is_empty() {
                failures.push(format!(
                    "{op}: {} {} as {} ({}) → {status} {}{}",
                    p.method,
                    p.path,
                    p.who,
                    p.why,
                    text.chars().take(200).collect::<String>(),
                    if leaked.is_empty() {
                        String::new()
                    } else {
                        format!(" LEAKS {leaked:?}")
                    }
                ));
            }
        }
        if !compared {
            compare(&fx, op, &before, &mut failures);
        }
        if let Some(who) = allowed(&fx, access) {
            let body = fx.is_body(op).map(|b| b.0);
            positives.push(Probe {
                who,
                why: "allowed",
                method: method.clone(),
                path: full(&fill(&fx, op, &path, "sample")),
                body,
                may_succeed: true,
            });
        }
    }
    // The positive controls last: some of them change what the refusals
    // read; signing out last of all.
    positives.sort_by_key(|p| p.path.ends_with("/logout") || p.path.ends_with("/owner/session"));
    for p in &positives {
        let (status, text) = fx.send(p);
        if [401, 403, 404, 405].contains(&status) {
            failures.push(format!(
                "positive control: {} {} as {} → {status} {} (the refusal above may not be a scope check)",
                p.method,
                p.path,
                p.who,
                text.chars().take(200).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn evidence_of_another_estates_room_is_not_exported() {
    let fx = start();
    // API: users of estate `other` name their own estate and `sample`'s room.
    for who in ["s-other", "o-dispatcher", "o-collector"] {
        let (s, text) = fx.call(
            "GET",
            &format!("/api/v1/estates/other/evidence/export?room={}", fx.v.room),
            Some(&fx.tokens[who]),
            None,
        );
        assert_eq!(
            s,
            404,
            "{who}: {s} {}",
            text.chars().take(200).collect::<String>()
        );
    }
    // The console form calls the same use case with the user's own estate.
    let (app, room, token) = (fx.app.clone(), fx.v.room, fx.tokens["s-other"].clone());
    let out = fx.rt.block_on(async move {
        let user = app.session_user(&token).await.unwrap();
        app.export_evidence(&user, "other", &[(ObjectKind::Room, room)])
            .await
    });
    assert!(
        matches!(out, Err(doorstep_app::AppError::NotFound(_))),
        "{:?}",
        out.map(|z| z.len())
    );
    // The owner's own estate still exports it.
    let (s, _) = fx.call(
        "GET",
        &format!("/api/v1/estates/sample/evidence/export?room={}", fx.v.room),
        Some(&fx.tokens["s-finance"]),
        None,
    );
    assert_eq!(s, 200);
}

#[test]
fn a_dispute_cannot_name_another_companys_room() {
    let fx = start();
    let before = fx.digest();
    let (s, text) = fx.call(
        "POST",
        "/api/v1/estates/bco/disputes",
        Some(&fx.tokens["b-admin"]),
        Some(&json!({"owner": "某人", "topic": "x", "room": fx.v.room})),
    );
    assert_eq!(s, 404, "{text}");
    let (s, text) = fx.call(
        "POST",
        "/api/v1/estates/other/disputes",
        Some(&fx.tokens["s-other"]),
        Some(&json!({"owner": "某人", "topic": "x", "space": fx.v.space})),
    );
    assert_eq!(s, 404, "{text}");
    assert_eq!(before, fx.digest(), "a refused dispute wrote something");
    // Closing another estate's dispute through one's own estate.
    let (s, text) = fx.call(
        "POST",
        &format!("/api/v1/estates/other/disputes/{}/close", fx.v.dispute),
        Some(&fx.tokens["s-other"]),
        Some(&json!({"outcome": "x"})),
    );
    assert_eq!(s, 404, "{text}");
}
