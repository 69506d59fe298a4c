//! The demo company: one estate `demo` with 32 buildings, 1,536 rooms, 320
//! parking spaces, owners with phones, realistic fee items and twelve months
//! of bills with a realistic mix of paid, partly paid and overdue. Seeding is
//! deterministic and happens once: an existing `demo` estate is left alone.

use crate::auth::hash_password;
use crate::{App, AppResult, today};
use doorstep_domain::{
    Area, Basis, Category, Cycle, Date, EstateCode, FeeItemSpec, Fen, LateFeeCap, LateFeePolicy,
    ObjectKind, Period, PhoneNumber, Role,
};
use doorstep_store::{
    BuildingInput, EstateInput, ImportBatch, ImportOwner, NewPayment, NewUser, RoomInput, RoomKey,
    SpaceInput,
};
use serde::Serialize;

/// The demo estate's code.
pub const DEMO_ESTATE: &str = "demo";
/// The demo staff accounts: (username, role, display name). All share [`DEMO_PASSWORD`].
pub const DEMO_USERS: [(&str, Role, &str); 4] = [
    ("admin", Role::Admin, "系统管理员"),
    ("finance", Role::Finance, "财务 王会计"),
    ("dispatcher", Role::Dispatcher, "客服 李调度"),
    ("collector", Role::Collector, "收费员 张师傅"),
];
/// More demo collectors (six on duty in all), password [`DEMO_PASSWORD`].
pub const DEMO_COLLECTORS: [(&str, &str); 5] = [
    ("collector2", "收费员 李师傅"),
    ("collector3", "收费员 王阿姨"),
    ("collector4", "收费员 赵师傅"),
    ("collector5", "收费员 陈师傅"),
    ("collector6", "收费员 刘阿姨"),
];
/// The demo password.
pub const DEMO_PASSWORD: &str = "demo1234";
/// The demo company's unified social credit code (passes the GB 32100 check).
pub const DEMO_CREDIT_CODE: &str = "91310115MA1K4XQ27K";
/// The sample company's unified social credit code (passes the GB 32100 check).
pub const SAMPLE_CREDIT_CODE: &str = "91110105MA00ABCD1G";

/// What seeding did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// Whether the demo already existed.
    pub existed: bool,
    /// Rooms, spaces, owners, lines now present.
    pub stats: doorstep_store::EstateStats,
    /// Payments recorded while seeding.
    pub payments: u64,
}

/// A small deterministic generator (SplitMix64) so every demo is the same.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋",
];
const GIVEN: [&str; 30] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "淑珍", "志强", "海燕", "文华",
    "玉兰", "德明",
];

fn fee_items() -> Vec<FeeItemSpec> {
    vec![
        FeeItemSpec {
            code: "property".into(),
            name: "物业服务费".into(),
            category: Category::Property,
            basis: Basis::PerArea,
            cycle: Cycle::Monthly,
            price: Fen(250),
            due_day: 31,
            late_fee: LateFeePolicy::OFF,
        },
        FeeItemSpec {
            code: "parking".into(),
            name: "地下车位管理费".into(),
            category: Category::Parking,
            basis: Basis::PerSpace,
            cycle: Cycle::Monthly,
            price: Fen(30000),
            due_day: 15,
            late_fee: LateFeePolicy {
                enabled: true,
                grace_days: 15,
                daily_rate_ppm: 500,
                cap: LateFeeCap::Principal,
            },
        },
        FeeItemSpec {
            code: "garbage".into(),
            name: "垃圾清运费".into(),
            category: Category::Other,
            basis: Basis::PerRoom,
            cycle: Cycle::Monthly,
            price: Fen(1500),
            due_day: 31,
            late_fee: LateFeePolicy::OFF,
        },
        FeeItemSpec {
            code: "water".into(),
            name: "代收水费".into(),
            category: Category::OnBehalf,
            basis: Basis::Entered,
            cycle: Cycle::Monthly,
            price: Fen(0),
            due_day: 25,
            late_fee: LateFeePolicy::OFF,
        },
    ]
}

fn layout(rng: &mut Rng) -> ImportBatch {
    let mut batch = ImportBatch::default();
    for b in 1..=32 {
        // Buildings 1–20 are six-storey walk-ups; 21–32 are 22-storey towers with lifts.
        let (floors, lift) = if b <= 20 { (6, false) } else { (22, true) };
        batch.buildings.push(BuildingInput {
            name: b.to_string(),
            entrances: 2,
            floors,
            has_lift: lift,
        });
        for entrance in 1..=2 {
            for floor in 1..=floors {
                for idx in 1..=2 {
                    let centi = 6000 + rng.below(10_000) as i64;
                    let area = Area::from_centi(centi).expect("60–160 m² is a valid area");
                    batch.rooms.push(RoomInput {
                        building: b.to_string(),
                        entrance: entrance.to_string(),
                        floor,
                        number: format!("{}{:02}", floor, idx),
                        area,
                    });
                }
            }
        }
    }
    for i in 1..=320 {
        let level = if i <= 200 { "地下B1" } else { "地下B2" };
        batch.spaces.push(SpaceInput {
            code: format!("B{i:03}"),
            level: level.into(),
        });
    }
    // One owner per room; 300 of them also hold a space; every tenth room has a co-owner.
    let mut used_phones = std::collections::HashSet::new();
    let mut phone = |rng: &mut Rng| loop {
        let p = format!(
            "1{}{:09}",
            [3, 5, 7, 8, 9][rng.below(5) as usize],
            rng.below(1_000_000_000)
        );
        if used_phones.insert(p.clone()) {
            return PhoneNumber::parse(&p).expect("generated mobile numbers are valid");
        }
    };
    for (i, r) in batch.rooms.clone().iter().enumerate() {
        let key = RoomKey {
            building: r.building.clone(),
            entrance: r.entrance.clone(),
            number: r.number.clone(),
        };
        let name = format!(
            "{}{}",
            SURNAMES[rng.below(24) as usize],
            GIVEN[rng.below(30) as usize]
        );
        let mut phones = vec![phone(rng)];
        if rng.below(5) == 0 {
            phones.push(phone(rng));
        }
        let spaces = if i % 5 == 0 && i / 5 < 300 {
            vec![format!("B{:03}", i / 5 + 1)]
        } else {
            vec![]
        };
        batch.owners.push(ImportOwner {
            name,
            phones,
            rooms: vec![key.clone()],
            spaces,
        });
        if i % 10 == 3 {
            let co = format!(
                "{}{}",
                SURNAMES[rng.below(24) as usize],
                GIVEN[rng.below(30) as usize]
            );
            batch.owners.push(ImportOwner {
                name: co,
                phones: vec![phone(rng)],
                rooms: vec![key],
                spaces: vec![],
            });
        }
    }
    batch
}

impl App {
    /// Creates the demo company and estate unless the estate exists.
    pub async fn seed_demo(
        &self,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> AppResult<DemoSummary> {
        if let Some(e) = self.store.estate_by_code(DEMO_ESTATE).await? {
            return Ok(DemoSummary {
                existed: true,
                stats: self.store.estate_stats(e.id).await?,
                payments: 0,
            });
        }
        let mut rng = Rng(20_260_101);
        progress("company and staff");
        let company = match self.store.company_by_name("幸福里物业服务有限公司").await? {
            Some(c) => c,
            None => {
                self.store
                    .create_company("幸福里物业服务有限公司", DEMO_CREDIT_CODE)
                    .await?
            }
        };
        let estate = self
            .store
            .create_estate(
                company.id,
                &EstateInput {
                    code: EstateCode::parse(DEMO_ESTATE)?,
                    name: "幸福里小区".into(),
                    timezone: "Asia/Shanghai".into(),
                    office: "1号楼一层 物业服务中心".into(),
                },
            )
            .await?;
        let hash = hash_password(DEMO_PASSWORD)?;
        for (username, role, display) in DEMO_USERS {
            if self.store.user_credentials(username).await?.is_none() {
                self.store
                    .create_user(&NewUser {
                        company_id: company.id,
                        username: username.into(),
                        display_name: display.into(),
                        password_hash: hash.clone(),
                        role,
                        estate_ids: vec![estate.id],
                    })
                    .await?;
            }
        }
        for (username, display) in DEMO_COLLECTORS {
            if self.store.user_credentials(username).await?.is_none() {
                self.store
                    .create_user(&NewUser {
                        company_id: company.id,
                        username: username.into(),
                        display_name: display.into(),
                        password_hash: hash.clone(),
                        role: Role::Collector,
                        estate_ids: vec![estate.id],
                    })
                    .await?;
            }
        }
        self.store
            .set_estate_model(estate.id, &demo_estate_model(), crate::now())
            .await?;
        progress("buildings, rooms, spaces and owners");
        self.store.bulk_seed(estate.id, &layout(&mut rng)).await?;
        let mut items = Vec::new();
        for spec in fee_items() {
            items.push(self.store.create_fee_item(estate.id, &spec).await?);
        }
        let now_period = Period::of(today(&estate));
        let first = (0..11).fold(now_period, |p, _| p.prev());
        let rooms = self.store.list_rooms(estate.id, "", i64::MAX, 0).await?;
        // Metered water for the last three months, entered per room.
        if let Some(water) = items.iter().find(|i| i.spec.basis == Basis::Entered) {
            let mut p = now_period.prev().prev();
            for _ in 0..3 {
                for r in rooms.iter().step_by(3) {
                    self.store
                        .set_entered_amount(
                            estate.id,
                            water.id,
                            r.id,
                            p,
                            Fen(2000 + rng.below(6000) as i64),
                        )
                        .await?;
                }
                p = p.next();
            }
        }
        let mut p = first;
        loop {
            progress(&format!("bills for {p}"));
            self.run_billing(&estate, p, None, &mut |_, _| {}).await?;
            if p == now_period {
                break;
            }
            p = p.next();
        }
        progress("payments");
        let spaces = self.store.list_spaces(estate.id, "", i64::MAX, 0).await?;
        let mut objects: Vec<(ObjectKind, i64)> =
            rooms.iter().map(|r| (ObjectKind::Room, r.id)).collect();
        objects.extend(
            spaces
                .iter()
                .filter(|s| !s.owners.is_empty())
                .map(|s| (ObjectKind::Space, s.id)),
        );
        let mut payments = 0;
        // Today before now, so a midnight in between cannot date a payment
        // on a day that has not begun.
        let cutoff = Cutoff {
            today: today(&estate),
            now: crate::now(),
        };
        for obj in objects {
            payments += self
                .seed_payments(estate.id, obj, first, now_period, cutoff, &mut rng)
                .await?;
        }
        progress("home-visit bookings");
        self.seed_bookings(&estate, &mut rng).await?;
        Ok(DemoSummary {
            existed: false,
            stats: self.store.estate_stats(estate.id).await?,
            payments,
        })
    }

    /// Bookings for the next weekday evening: owners of rooms with arrears
    /// book slots across the evening; some pay cash, some ask to be called
    /// first. The dispatch board has something to plan.
    async fn seed_bookings(&self, estate: &doorstep_store::Estate, rng: &mut Rng) -> AppResult<()> {
        use crate::booking::{BookingRequest, By, Target};
        let mut day = today(estate);
        loop {
            day = day
                .tomorrow()
                .map_err(|e| doorstep_domain::DomainError::invalid("date", e.to_string()))?;
            if day.weekday().to_monday_one_offset() <= 5 {
                break;
            }
        }
        let owners = self.store.list_owners(estate.id, "", 400, 0).await?;
        let starts = ["19:00", "19:30", "20:00", "20:30"];
        let mut made = 0;
        for (i, o) in owners.iter().enumerate().step_by(7) {
            let (Some(phone), Some(room)) = (o.phones.first(), o.rooms.first()) else {
                continue;
            };
            let req = BookingRequest {
                targets: vec![Target {
                    kind: ObjectKind::Room,
                    id: room.0,
                }],
                date: day.to_string(),
                start: starts[i % starts.len()].into(),
                pays_cash: rng.below(10) < 3,
                call_first: rng.below(10) < 2,
                note: String::new(),
                contact_phone: String::new(),
            };
            let owner = crate::owner::OwnerId {
                phone: phone.clone(),
                company_id: estate.company_id,
            };
            if self
                .create_booking(By::Owner(&owner), DEMO_ESTATE, &req)
                .await
                .is_ok()
            {
                made += 1;
            }
            if made >= 40 {
                break;
            }
        }
        Ok(())
    }

    /// Pays an object's bills the way one kind of owner does: most pay every
    /// quarter on time, some stopped paying months ago, some paid part, a few never.
    async fn seed_payments(
        &self,
        estate_id: i64,
        obj: (ObjectKind, i64),
        first: Period,
        now: Period,
        cutoff: Cutoff,
        rng: &mut Rng,
    ) -> AppResult<u64> {
        let profile = rng.below(100);
        let paid_through = match profile {
            0..=59 => now.prev(),                                          // pays regularly
            60..=79 => (0..(2 + rng.below(7))).fold(now, |p, _| p.prev()), // stopped 2–8 months ago
            80..=89 => (0..(1 + rng.below(3))).fold(now, |p, _| p.prev()), // a little behind, one line partly paid
            _ => return Ok(0),                                             // never paid
        };
        let lines = self
            .store
            .bill_lines(&doorstep_store::LineQuery {
                estate_id,
                objects: vec![obj],
                ..Default::default()
            })
            .await?;
        let mut count = 0;
        let mut p = first;
        while p <= paid_through {
            // One payment per quarter, made on the due date of its first month.
            let quarter: Vec<_> = lines
                .iter()
                .filter(|l| {
                    l.period >= p && l.period <= paid_through && l.period < p.next().next().next()
                })
                .collect();
            let Some(first_line) = quarter.first() else {
                break;
            };
            let amount: Fen = quarter.iter().map(|l| l.amount).sum();
            if amount.0 > 0 {
                let (paid_on, at) = cutoff.paid_when(first_line.due_date);
                let method = ["cash", "wechat", "alipay"][rng.below(3) as usize];
                self.store
                    .record_payment(&NewPayment {
                        estate_id,
                        objects: vec![],
                        line_ids: quarter.iter().map(|l| l.id).collect(),
                        amount,
                        method: method.into(),
                        paid_on,
                        at,
                        recorded_by: None,
                        idempotency_key: None,
                        booking_id: None,
                        offline: false,
                        only_due_now: false,
                    })
                    .await?;
                count += 1;
            }
            p = p.next().next().next();
        }
        if (80..=89).contains(&profile) {
            // Part of the next line.
            if let Some(next) = lines.iter().find(|l| l.period == paid_through.next()) {
                let part = Fen(next.amount.0 / 2);
                if part.0 > 0 {
                    let (paid_on, at) = cutoff.paid_when(next.due_date);
                    self.store
                        .record_payment(&NewPayment {
                            estate_id,
                            objects: vec![],
                            line_ids: vec![next.id],
                            amount: part,
                            method: "cash".into(),
                            paid_on,
                            at,
                            recorded_by: None,
                            idempotency_key: None,
                            booking_id: None,
                            offline: false,
                            only_due_now: false,
                        })
                        .await?;
                    count += 1;
                }
            }
        }
        Ok(count)
    }
}

/// The moment seeding started: nothing seeded is dated after it.
#[derive(Debug, Clone, Copy)]
struct Cutoff {
    /// The estate's date.
    today: Date,
    /// Unix seconds.
    now: i64,
}

impl Cutoff {
    /// When an owner paid a line due on `due`: that evening, or today as the
    /// demo runs when the line is not due yet (an early payer) or the
    /// evening has not come.
    fn paid_when(&self, due: Date) -> (Date, i64) {
        if due > self.today {
            return (self.today, self.now);
        }
        (due, evening_of(due).min(self.now))
    }
}

/// 19:30 China time on `date`, as unix seconds: when demo payments happen.
fn evening_of(date: doorstep_domain::Date) -> i64 {
    date.at(19, 30, 0, 0)
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .map(|z| z.timestamp().as_second())
        .unwrap_or(0)
}

/// The small sample estate tests build on, with numbers small enough to check
/// by hand: estate `sample` (幸福家园) with rooms 3号楼202室 (89.50 m²) and
/// 5号楼301室 (120.00 m²), space 地下B1 车位B007, owner 张三 (13812345678)
/// of 202 and B007, property fee 2.50 元/m²/月 (no late fee, due on the 31st)
/// and parking 300 元/月 (late fee 万分之五 a day, capped at the principal,
/// due on the 15th), billed for 2026-01 and 2026-02. A second estate
/// `other` belongs to the same company. Staff (password [`SAMPLE_PASSWORD`]):
/// `s-admin` (admin), `s-finance` (finance, sample), `s-collector`
/// (collector, sample), `s-collector2` (collector, sample), `s-dispatcher`
/// (dispatcher, sample), `s-other` (finance, other estate only). Owner 李四
/// (13900000001) holds 5号楼301室. The sample has a walking model.
pub async fn seed_sample(app: &App) -> AppResult<SampleIds> {
    let store = &app.store;
    let company = store
        .create_company("幸福家园物业有限公司", SAMPLE_CREDIT_CODE)
        .await?;
    let estate = store
        .create_estate(
            company.id,
            &EstateInput {
                code: EstateCode::parse("sample")?,
                name: "幸福家园".into(),
                timezone: "Asia/Shanghai".into(),
                office: "1号楼物业中心".into(),
            },
        )
        .await?;
    let other = store
        .create_estate(
            company.id,
            &EstateInput {
                code: EstateCode::parse("other")?,
                name: "和平里".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await?;
    let hash = hash_password(SAMPLE_PASSWORD)?;
    for (u, role, scope) in [
        ("s-admin", Role::Admin, vec![]),
        ("s-finance", Role::Finance, vec![estate.id]),
        ("s-collector", Role::Collector, vec![estate.id]),
        ("s-collector2", Role::Collector, vec![estate.id]),
        ("s-dispatcher", Role::Dispatcher, vec![estate.id]),
        ("s-other", Role::Finance, vec![other.id]),
    ] {
        store
            .create_user(&NewUser {
                company_id: company.id,
                username: u.into(),
                display_name: u.into(),
                password_hash: hash.clone(),
                role,
                estate_ids: scope,
            })
            .await?;
    }
    let room = |b: &str, n: &str, a: &str| -> AppResult<RoomInput> {
        Ok(RoomInput {
            building: b.into(),
            entrance: String::new(),
            floor: 2,
            number: n.into(),
            area: Area::parse(a)?,
        })
    };
    let r202 = store
        .create_room(estate.id, &room("3", "202", "89.50")?)
        .await?;
    let r301 = store
        .create_room(estate.id, &room("5", "301", "120")?)
        .await?;
    let b007 = store
        .create_space(
            estate.id,
            &SpaceInput {
                code: "B007".into(),
                level: "地下B1".into(),
            },
        )
        .await?;
    store
        .create_owner(
            estate.id,
            &doorstep_store::OwnerInput {
                name: "张三".into(),
                phones: vec![PhoneNumber::parse("13812345678")?],
                room_ids: vec![r202.id],
                space_ids: vec![b007.id],
            },
        )
        .await?;
    store
        .create_owner(
            estate.id,
            &doorstep_store::OwnerInput {
                name: "李四".into(),
                phones: vec![PhoneNumber::parse("13900000001")?],
                room_ids: vec![r301.id],
                space_ids: vec![],
            },
        )
        .await?;
    store
        .set_estate_model(estate.id, SAMPLE_MODEL, crate::now())
        .await?;
    let specs = fee_items();
    for spec in specs
        .iter()
        .filter(|s| s.code == "property" || s.code == "parking")
    {
        let mut spec = spec.clone();
        if spec.code == "parking" {
            spec.late_fee.grace_days = 0;
        }
        store.create_fee_item(estate.id, &spec).await?;
    }
    for p in ["2026-01", "2026-02"] {
        app.run_billing(&estate, Period::parse(p)?, None, &mut |_, _| {})
            .await?;
    }
    Ok(SampleIds {
        estate_id: estate.id,
        other_estate_id: other.id,
        room_202: r202.id,
        room_301: r301.id,
        space_b007: b007.id,
    })
}

/// The sample estate's walking model: the office at the gate, buildings 3
/// (stairs) and 5 (lift), the garage ramp and space B007.
pub const SAMPLE_MODEL: &str = "speed 1.2\nlift 20 3\nstairs 15\ndoor 30\noffice 0 0\npoint gate 10 0\nbuilding 3 40 20 stairs\nbuilding 5 80 20 lift\nramp B1 60 -10\nspace B007 B1 70 -20\npath office gate\npath gate b:3\npath b:3 b:5\npath gate r:B1\n";

/// The sample's password.
pub const SAMPLE_PASSWORD: &str = "sample-pass-1";

/// Ids in the sample estate.
#[derive(Debug, Clone, Copy)]
pub struct SampleIds {
    /// Estate `sample`.
    pub estate_id: i64,
    /// Estate `other`.
    pub other_estate_id: i64,
    /// 3号楼202室.
    pub room_202: i64,
    /// 5号楼301室.
    pub room_301: i64,
    /// 车位B007.
    pub space_b007: i64,
}

/// The demo estate's walking model (see `doorstep_routing::estate` for the
/// format): 32 buildings in four rows of eight, 40 m apart, along lanes off
/// a main road; buildings 1–20 walk-ups, 21–32 with lifts; the office at the
/// gate; garage levels B1 and B2 with their ramps and all 320 spaces.
pub fn demo_estate_model() -> String {
    let mut m = String::from(
        "# 幸福里小区 walking model (generated; metres)\nspeed 1.2\nlift 25 3\nstairs 14\ndoor 40\noffice 0 0\n",
    );
    for c in 0..=8 {
        m.push_str(&format!("point m{c} {} 10\n", 10 + c * 40));
        if c > 0 {
            m.push_str(&format!("path m{} m{c}\n", c - 1));
        }
    }
    m.push_str("path office m0\n");
    for b in 1..=32 {
        let (row, col) = ((b - 1) / 8, (b - 1) % 8);
        let (x, y) = (30 + col * 40, 30 + row * 40);
        let kind = if b <= 20 { "stairs" } else { "lift" };
        m.push_str(&format!("point l{col}_{row} {} {y}\n", 10 + col * 40));
        m.push_str(&format!("building {b} {x} {y} {kind}\n"));
        m.push_str(&format!("path l{col}_{row} b:{b}\n"));
        let below = if row == 0 {
            format!("m{col}")
        } else {
            format!("l{col}_{}", row - 1)
        };
        m.push_str(&format!("path {below} l{col}_{row}\n"));
    }
    m.push_str("ramp B1 170 0\npath m4 r:B1\nramp B2 330 0\npath m8 r:B2\n");
    for i in 0..320 {
        let (level, base, k) = if i < 200 {
            ("B1", 130, i)
        } else {
            ("B2", 290, i - 200)
        };
        m.push_str(&format!(
            "space B{:03} {level} {} {}\n",
            i + 1,
            base + (k % 40) * 2,
            -10 - (k / 40) * 5
        ));
    }
    m
}

/// Where the demo and sample estates are: a point in Shanghai. Building `n`
/// is `n` × 0.0004° east of it; the garage is south.
pub const DEMO_LAT_E6: i64 = 31_230_400;
/// See [`DEMO_LAT_E6`].
pub const DEMO_LNG_E6: i64 = 121_473_700;

/// A building's geofence centre in the demo and sample estates.
pub fn demo_building_point(building: &str) -> (i64, i64) {
    let n: i64 = building
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (DEMO_LAT_E6, DEMO_LNG_E6 + n * 400)
}

/// Sets up collecting for an estate: the company's WeChat Pay and Alipay
/// merchant accounts (settings JSON, e.g. from `doorstep_paysim::kit`) and a
/// 60 m geofence around each building and one around the garage.
pub async fn seed_collecting(
    app: &App,
    estate_code: &str,
    wechat: &serde_json::Value,
    alipay: &serde_json::Value,
) -> AppResult<()> {
    let estate = app.estate(estate_code).await?;
    for v in [wechat, alipay] {
        let s: crate::pay::MerchantSettings = serde_json::from_value(v.clone()).map_err(|e| {
            crate::AppError::Invalid(doorstep_domain::DomainError::invalid(
                "settings",
                e.to_string(),
            ))
        })?;
        app.set_merchant(estate.company_id, 0, &s).await?;
    }
    for b in app.store.list_buildings(estate.id).await? {
        let (lat, lng) = demo_building_point(&b.name);
        app.store
            .set_geofence(
                estate.id,
                &doorstep_store::Geofence {
                    area_kind: "building".into(),
                    area: b.name.clone(),
                    lat_e6: lat,
                    lng_e6: lng,
                    radius_m: 60,
                },
            )
            .await?;
    }
    app.store
        .set_geofence(
            estate.id,
            &doorstep_store::Geofence {
                area_kind: "parking".into(),
                area: String::new(),
                lat_e6: DEMO_LAT_E6 - 500,
                lng_e6: DEMO_LNG_E6,
                radius_m: 80,
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_routing::estate::{EstateModel, Stop};

    #[test]
    fn demo_and_sample_credit_codes_pass_the_check() {
        for code in [DEMO_CREDIT_CODE, SAMPLE_CREDIT_CODE] {
            let parsed = doorstep_domain::cn::CreditCode::parse(code);
            assert!(parsed.is_ok(), "{code}: {parsed:?}");
        }
    }

    #[test]
    fn no_payment_is_dated_after_the_cutoff() {
        let today = jiff::civil::date(2026, 12, 7);
        // 10:00 China time that day.
        let now = today
            .at(10, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
            .unwrap()
            .timestamp()
            .as_second();
        let cutoff = Cutoff { today, now };
        // Due later this month: paid early, now.
        assert_eq!(
            cutoff.paid_when(jiff::civil::date(2026, 12, 15)),
            (today, now)
        );
        // Due today: the evening has not come, so it is paid now.
        assert_eq!(cutoff.paid_when(today), (today, now));
        // Due last month: that evening.
        let past = jiff::civil::date(2026, 11, 15);
        assert_eq!(cutoff.paid_when(past), (past, evening_of(past)));
        assert!(evening_of(past) < now);
    }

    #[test]
    fn the_demo_model_covers_every_building_floor_and_space() {
        let model = EstateModel::parse(&demo_estate_model()).unwrap();
        let mut rng = Rng(1);
        let layout = layout(&mut rng);
        for r in &layout.rooms {
            let t = model
                .seconds(
                    &Stop::Office,
                    &Stop::Room {
                        building: r.building.clone(),
                        floor: r.floor,
                    },
                )
                .unwrap();
            assert!(t > 0.0 && t < 1200.0, "{}-{}: {t}", r.building, r.number);
        }
        for s in &layout.spaces {
            assert!(
                model
                    .seconds(&Stop::Office, &Stop::Space(s.code.clone()))
                    .unwrap()
                    > 0.0
            );
        }
        // A tower's 22nd floor by lift is quicker than a walk-up's 6th by stairs, per floor.
        let top_tower = model
            .seconds(
                &Stop::Room {
                    building: "21".into(),
                    floor: 22,
                },
                &Stop::Room {
                    building: "21".into(),
                    floor: 1,
                },
            )
            .unwrap();
        let top_walkup = model
            .seconds(
                &Stop::Room {
                    building: "1".into(),
                    floor: 6,
                },
                &Stop::Room {
                    building: "1".into(),
                    floor: 1,
                },
            )
            .unwrap();
        assert!(top_tower / 21.0 < top_walkup / 5.0);
    }
}
