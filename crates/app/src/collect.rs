//! The collector at the door: tonight's stops with what is owed, check-in
//! against the geofence, cash, signatures, and the offline queue's sync.
//! QR and payment-code payments are in [`crate::pay`].

use crate::arrears::ArrearsRow;
use crate::booking::BookingView;
use crate::dispatch::RouteView;
use crate::{App, AppError, AppResult, now, require, today};
use doorstep_domain::geo::{Fence, Fix, check_fix, verdict};
use doorstep_domain::{Category, Date, DomainError, Fen, ObjectKind, Permission};
use doorstep_store::*;
use serde::{Deserialize, Serialize};

/// One stop as the collector's phone shows (and caches) it.
#[derive(Debug, Clone, Serialize)]
pub struct CollectorStop {
    /// The booking with labels.
    pub booking: BookingView,
    /// Order in the route, from 1.
    pub seq: i64,
    /// Planned arrival, local `HH:MM`.
    pub eta: String,
    /// `19:30–20:00`.
    pub slot: String,
    /// Lines of the booked rooms and spaces due now (on or before today,
    /// estate time), oldest first, with late fees and their calculation as
    /// of today.
    pub lines: Vec<ArrearsRow>,
    /// Totals by category of the lines due now: (category, principal, late fee).
    pub by_category: Vec<(Category, Fen, Fen)>,
    /// Everything due now (the same figure as `due_now`).
    pub total: Fen,
    /// Everything due now: what the visit asks for, the same figure the
    /// owner's page and the notices show (`doorstep_domain::due`).
    pub due_now: Fen,
    /// Open lines not yet due: shown apart, paid only as a prepayment the
    /// owner chooses (and only where the estate takes prepayments).
    pub not_yet_due: Vec<ArrearsRow>,
    /// What the lines not yet due come to.
    pub not_yet_due_total: Fen,
    /// The estate takes prepayments.
    pub allow_prepay: bool,
    /// Check-ins so far.
    pub checkins: Vec<Checkin>,
    /// Payments taken at this visit.
    pub payments: Vec<PaymentFact>,
    /// Signatures taken at this visit.
    pub signatures: Vec<Signature>,
    /// The visit is finished (visited or owner absent).
    pub done: bool,
}

/// A location check-in from the phone.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckinInput {
    /// Latitude in degrees (absent: no fix).
    pub lat: Option<f64>,
    /// Longitude in degrees.
    pub lng: Option<f64>,
    /// Accuracy, metres.
    pub accuracy: Option<f64>,
    /// When the fix was taken (unix milliseconds, device clock).
    pub fix_at_ms: Option<i64>,
    /// Device (user agent, abbreviated).
    #[serde(default)]
    pub device: String,
    /// Client-made idempotency key.
    pub client_key: Option<String>,
    /// Made while offline.
    #[serde(default)]
    pub offline: bool,
}

/// Cash counted at the door.
#[derive(Debug, Clone, Deserialize)]
pub struct CashInput {
    /// Amount paid, yuan as text (`1234.50`): what is applied to the bills.
    pub amount: String,
    /// Cash handed over, yuan as text (≥ amount; change is the difference).
    pub tendered: Option<String>,
    /// Client-made idempotency key (required: retries record once).
    pub client_key: String,
    /// When it was taken (unix milliseconds, device clock), for offline records.
    pub taken_at_ms: Option<i64>,
    /// Made while offline.
    #[serde(default)]
    pub offline: bool,
    /// The shift it was taken under (offline actions carry it, so a sync
    /// after the shift closed still lands in the shift that holds the cash).
    #[serde(default)]
    pub shift_id: Option<i64>,
    /// Also pay the lines not yet due: a prepayment the owner chose (only
    /// where the estate takes prepayments). By default only what is due now
    /// is paid.
    #[serde(default)]
    pub prepay: bool,
}

/// The result of a cash payment.
#[derive(Debug, Clone, Serialize)]
pub struct CashRecorded {
    /// The payment.
    pub payment: PaymentRecord,
    /// Change to give back (tendered − amount).
    pub change: Fen,
    /// What is still owed at this stop.
    pub still_owed: Fen,
    /// The e-receipt (its link for the owner's phone).
    pub receipt: Option<ReceiptLink>,
}

/// Where an owner finds a receipt.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptLink {
    /// Receipt number as printed, once given (at once on SQLite; on
    /// PostgreSQL by the sequencer's next batch, or when the link is first
    /// opened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The owner's link.
    pub url: String,
    /// `issued`, or `pending` while it is being signed.
    pub status: String,
}

/// A signature from the screen.
#[derive(Debug, Clone, Deserialize)]
pub struct SignatureInput {
    /// The canonical JSON of what the owner saw (amount and breakdown).
    pub shown: String,
    /// Strokes: JSON `{"w":…, "h":…, "strokes":[[[x, y, t_ms], …], …]}`.
    pub strokes: serde_json::Value,
    /// The rendered PNG, base64 (with or without a `data:` prefix).
    pub png_base64: String,
    /// The payment confirmed, when its id is known (recorded online).
    pub payment_id: Option<i64>,
    /// Or the client key of the cash action confirmed (cash taken offline,
    /// maybe not synced yet): the signature is linked to the payment that
    /// action records, whichever of the two reaches the server first.
    #[serde(default)]
    pub payment_key: Option<String>,
    /// Unix milliseconds, device clock.
    pub signed_at_ms: Option<i64>,
    /// Client-made idempotency key.
    pub client_key: Option<String>,
    /// Made while offline.
    #[serde(default)]
    pub offline: bool,
}

/// One action queued on the phone while offline.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfflineAction {
    /// A check-in.
    Checkin {
        /// Booking.
        booking_id: i64,
        /// The check-in.
        #[serde(flatten)]
        input: CheckinInput,
    },
    /// A cash payment.
    Cash {
        /// Booking.
        booking_id: i64,
        /// The payment.
        #[serde(flatten)]
        input: CashInput,
    },
    /// A signature.
    Signature {
        /// Booking.
        booking_id: i64,
        /// The signature.
        #[serde(flatten)]
        input: SignatureInput,
    },
    /// How the visit ended.
    Outcome {
        /// Booking.
        booking_id: i64,
        /// `paid`, `partly_paid`, `not_paid` (refused), `owner_absent`.
        result: String,
        /// Why (required for not paid).
        #[serde(default)]
        reason: String,
        /// Client-made key.
        client_key: Option<String>,
    },
}

/// What became of one synced action.
#[derive(Debug, Clone, Serialize)]
pub struct SyncResult {
    /// The action's key, as sent.
    pub client_key: Option<String>,
    /// Applied (or had been applied before: `replayed`).
    pub ok: bool,
    /// It had been applied before; nothing new was written.
    pub replayed: bool,
    /// What was recorded (id) or why not.
    pub detail: serde_json::Value,
}

/// `1234.5` / `1234.50` / `1,234.50` → fen; the amount must be positive.
pub fn parse_amount(field: &'static str, s: &str) -> AppResult<Fen> {
    let f = Fen::parse_yuan(field, s)?;
    if f.0 <= 0 {
        return Err(DomainError::invalid(field, "must be greater than 0").into());
    }
    Ok(f)
}

fn check_key(key: &str) -> AppResult<()> {
    check_key_field("client_key", key)
}

fn check_key_field(field: &'static str, key: &str) -> AppResult<()> {
    let ok = (8..=80).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(field, "8–80 characters of letters, digits, - or _").into())
    }
}

/// The idempotency key of the payment a collector's cash action records
/// (what an offline signature names through the action's client key).
fn cash_payment_key(user_id: i64, client_key: &str) -> String {
    format!("cash:{user_id}:{client_key}")
}

/// One line of a payment as the owner is shown it before signing.
#[derive(Debug, Clone, Serialize)]
pub struct ShownLine {
    /// Bill line.
    pub line_id: i64,
    /// Fee item name.
    pub item: String,
    /// Period, `2026-11`.
    pub period: String,
    /// Fee category code.
    pub category: String,
    /// Principal paid.
    pub principal_fen: i64,
    /// Late fee paid.
    pub late_fee_fen: i64,
}

/// A payment taken at a visit that the owner has not signed for yet: what
/// the signature card shows (after a reload too).
#[derive(Debug, Clone, Serialize)]
pub struct UnsignedPayment {
    /// The payment.
    pub payment_id: i64,
    /// Its amount.
    pub amount: Fen,
    /// `cash`, `wechat`, `alipay`.
    pub method: String,
    /// Unix seconds.
    pub paid_at: i64,
    /// What it paid, line by line.
    pub lines: Vec<ShownLine>,
}

/// A device time (ms) if plausible (not ahead of the server by more than
/// five minutes, not older than seven days), else the server's.
fn device_time(ms: Option<i64>, server: i64) -> i64 {
    match ms {
        Some(ms) => {
            let s = ms.div_euclid(1000);
            if s <= server + 300 && s >= server - 7 * 86_400 {
                s
            } else {
                server
            }
        }
        None => server,
    }
}

impl App {
    /// A booking on `user`'s own route (dispatch staff: any in their
    /// estates). Others are "not found".
    pub async fn visit_for(&self, user: &User, booking_id: i64) -> AppResult<(Estate, Booking)> {
        require(user, Permission::Visit)?;
        let (estate, b) = self
            .booking_for(&crate::booking::By::Staff(user), booking_id)
            .await?;
        if !user.role.allows(Permission::Dispatch) && b.collector_id != Some(user.id) {
            return Err(AppError::NotFound(format!(
                "booking {booking_id} on your route"
            )));
        }
        Ok((estate, b))
    }

    /// The lines of a booking's rooms and spaces that are due now on `on`
    /// (due on or before it, late fees as of it: `doorstep_domain::due`),
    /// oldest first: what the visit asks for and what a payment at the door
    /// pays unless the owner chooses to prepay.
    pub async fn visit_lines(
        &self,
        estate: &Estate,
        b: &Booking,
        on: Date,
    ) -> AppResult<Vec<BillLine>> {
        Ok(self.visit_lines_split(estate, b, on).await?.0)
    }

    /// The open lines of a booking's rooms and spaces on `on`, split by the
    /// one definition of "due now": (due now, not yet due). Lines not yet
    /// due are only ever an optional prepayment.
    pub async fn visit_lines_split(
        &self,
        estate: &Estate,
        b: &Booking,
        on: Date,
    ) -> AppResult<(Vec<BillLine>, Vec<BillLine>)> {
        self.visit_lines_as(estate, b, on, true).await
    }

    /// [`App::visit_lines_split`], with the owners' names only if `names`
    /// (a payment needs amounts).
    async fn visit_lines_as(
        &self,
        estate: &Estate,
        b: &Booking,
        on: Date,
        names: bool,
    ) -> AppResult<(Vec<BillLine>, Vec<BillLine>)> {
        if b.targets.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let q = LineQuery {
            estate_id: estate.id,
            open_only: true,
            objects: b.targets.clone(),
            ..Default::default()
        };
        let lines = if names {
            self.store.bill_lines(&q).await?
        } else {
            self.store.bill_amounts(&q).await?
        };
        Ok(lines
            .into_iter()
            .filter(|l| l.status != LineStatus::Waived)
            .filter(|l| l.due(on).total() > Fen::ZERO)
            .partition(|l| l.due(on).due_now))
    }

    async fn stop_of(
        &self,
        estate: &Estate,
        view: BookingView,
        seq: i64,
        eta: String,
        slot: String,
        done: bool,
    ) -> AppResult<CollectorStop> {
        let on = today(estate);
        let (lines, later) = self.visit_lines_split(estate, &view.booking, on).await?;
        let due = doorstep_domain::due_totals(lines.iter().chain(&later).map(|l| l.due(on)));
        let rows: Vec<ArrearsRow> = lines.iter().map(|l| ArrearsRow::of(l, on)).collect();
        let mut by_category: Vec<(Category, Fen, Fen)> = Vec::new();
        for r in &rows {
            match by_category.iter_mut().find(|c| c.0 == r.category) {
                Some(c) => {
                    c.1 += r.principal_owed;
                    c.2 += r.late_fee_owed;
                }
                None => by_category.push((r.category, r.principal_owed, r.late_fee_owed)),
            }
        }
        let id = view.booking.id;
        Ok(CollectorStop {
            total: due.due_now,
            due_now: due.due_now,
            lines: rows,
            by_category,
            not_yet_due: later.iter().map(|l| ArrearsRow::of(l, on)).collect(),
            not_yet_due_total: due.not_yet_due,
            allow_prepay: self.store.collect_settings(estate.id).await?.allow_prepay,
            checkins: self.store.checkins(id).await?,
            payments: self.store.booking_payments(id).await?,
            signatures: self.store.signatures(id).await?,
            booking: view,
            seq,
            eta,
            slot,
            done,
        })
    }

    /// The collector's stops on `date`, in route order, each with what is
    /// owed (the page the phone caches for the garage).
    pub async fn collector_stops(
        &self,
        user: &User,
        code: &str,
        date: Date,
    ) -> AppResult<(Vec<RouteView>, Vec<CollectorStop>)> {
        let routes = self.itinerary(user, code, date, None).await?;
        let estate = self.estate_for(user, code, Permission::Visit).await?;
        let mut stops = Vec::new();
        for r in &routes {
            for s in &r.stops {
                stops.push(
                    self.stop_of(
                        &estate,
                        s.booking.clone(),
                        s.seq,
                        s.eta.clone(),
                        s.slot.clone(),
                        s.done,
                    )
                    .await?,
                );
            }
        }
        Ok((routes, stops))
    }

    /// The first day after `after` (within two weeks) on which the caller
    /// has visits routed to them, for an empty evening's page to point at.
    pub async fn next_route_day(
        &self,
        user: &User,
        code: &str,
        after: Date,
    ) -> AppResult<Option<Date>> {
        let estate = self.estate_for(user, code, Permission::Visit).await?;
        let from = crate::booking::local_to_unix(
            &estate,
            after
                .tomorrow()
                .map_err(|e| DomainError::invalid("date", e.to_string()))?
                .to_datetime(jiff::civil::Time::midnight()),
        )?;
        let list = self
            .store
            .bookings(&BookingQuery {
                estate_id: Some(estate.id),
                collector_id: Some(user.id),
                from: Some(from),
                to: Some(from + 14 * 86_400),
                statuses: vec![doorstep_domain::BookingStatus::Scheduled],
                ..Default::default()
            })
            .await?;
        Ok(list.iter().map(|b| b.day).min())
    }

    /// One stop of the collector's route.
    pub async fn collector_stop(&self, user: &User, booking_id: i64) -> AppResult<CollectorStop> {
        let (estate, b) = self.visit_for(user, booking_id).await?;
        let eta = b
            .eta
            .map(|t| {
                crate::booking::unix_to_local(&estate, t)
                    .strftime("%H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let slot = format!(
            "{}–{}",
            doorstep_domain::booking::hhmm(b.slot.start),
            doorstep_domain::booking::hhmm(b.slot.end)
        );
        let seq = b.route_seq.unwrap_or(0);
        let done = !b.status.is_open();
        let view = self.view(&estate, b).await?;
        self.stop_of(&estate, view, seq, eta, slot, done).await
    }

    /// Records where the collector is on arrival and whether that is inside
    /// the geofence of the building (or parking level) visited. No fix, or
    /// outside, is recorded and flagged, never refused.
    pub async fn check_in(
        &self,
        user: &User,
        booking_id: i64,
        input: &CheckinInput,
    ) -> AppResult<Checkin> {
        let (estate, b) = self.visit_for(user, booking_id).await?;
        if let Some(k) = &input.client_key {
            check_key(k)?;
        }
        let server = now();
        let fix = match (input.lat, input.lng) {
            (Some(lat), Some(lng)) if lat.is_finite() && lng.is_finite() => {
                let f = Fix {
                    lat_e6: (lat * 1e6).round() as i64,
                    lng_e6: (lng * 1e6).round() as i64,
                    accuracy_m: input
                        .accuracy
                        .filter(|a| a.is_finite())
                        .map(|a| a.round() as i64)
                        .unwrap_or(0),
                };
                check_fix(&f)?;
                Some(f)
            }
            (None, None) => None,
            _ => {
                return Err(DomainError::invalid(
                    "lat/lng",
                    "give both latitude and longitude, or neither",
                )
                .into());
            }
        };
        let fences = self.fences_for(&estate, &b).await?;
        let (v, distance) = verdict(fix, &fences);
        let at = device_time(input.fix_at_ms, server);
        Ok(self
            .store
            .record_checkin(&NewCheckin {
                estate_id: estate.id,
                booking_id,
                collector_id: user.id,
                fix: fix.map(|f| (f.lat_e6, f.lng_e6, f.accuracy_m, at)),
                verdict: v.code().into(),
                distance_m: distance,
                device: input.device.chars().take(200).collect(),
                offline: input.offline,
                client_key: input.client_key.clone(),
                at: server,
            })
            .await?)
    }

    /// An estate's geofences.
    pub async fn geofences(&self, user: &User, code: &str) -> AppResult<Vec<Geofence>> {
        let estate = self.estate_for(user, code, Permission::ReadEstate).await?;
        Ok(self.store.geofences(estate.id).await?)
    }

    /// Sets a building's or parking level's geofence (dispatch staff);
    /// returns the estate's geofences.
    pub async fn set_geofence(
        &self,
        user: &User,
        code: &str,
        g: &Geofence,
    ) -> AppResult<Vec<Geofence>> {
        let estate = self.estate_for(user, code, Permission::Dispatch).await?;
        self.store.set_geofence(estate.id, g).await?;
        Ok(self.store.geofences(estate.id).await?)
    }

    /// An estate's collection settings.
    pub async fn collect_settings(&self, user: &User, code: &str) -> AppResult<CollectSettings> {
        let estate = self.estate_for(user, code, Permission::ReadEstate).await?;
        Ok(self.store.collect_settings(estate.id).await?)
    }

    /// Sets an estate's prepayment rule, QR expiry and cash limits (finance).
    pub async fn set_collect_settings(
        &self,
        user: &User,
        code: &str,
        s: &CollectSettings,
    ) -> AppResult<()> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        Ok(self.store.set_collect_settings(estate.id, s).await?)
    }

    /// The geofences of the buildings and parking levels a booking visits.
    async fn fences_for(&self, estate: &Estate, b: &Booking) -> AppResult<Vec<Fence>> {
        let all = self.store.geofences(estate.id).await?;
        let mut out = Vec::new();
        for (kind, id) in &b.targets {
            let (area_kind, area) = match kind {
                ObjectKind::Room => ("building", self.store.room(estate.id, *id).await?.building),
                ObjectKind::Space => ("parking", self.store.space(estate.id, *id).await?.level),
            };
            out.extend(
                all.iter()
                    .filter(|g| {
                        g.area_kind == area_kind
                            && (g.area == area || (area_kind == "parking" && g.area.is_empty()))
                    })
                    .map(|g| Fence {
                        lat_e6: g.lat_e6,
                        lng_e6: g.lng_e6,
                        radius_m: g.radius_m,
                    }),
            );
        }
        Ok(out)
    }

    /// Cash at the door: the counted amount is applied oldest first (late
    /// fee before principal) to the booked rooms' and spaces' lines; partial
    /// payment is allowed; more than is owed is refused (unless the estate
    /// takes prepayments). The client key makes retries and double syncs
    /// record once.
    pub async fn record_cash(
        &self,
        user: &User,
        booking_id: i64,
        input: &CashInput,
    ) -> AppResult<CashRecorded> {
        require(user, Permission::RecordPayment)?;
        let (estate, b) = self.visit_for(user, booking_id).await?;
        check_key(&input.client_key)?;
        if let Some(id) = input.shift_id {
            self.check_own_shift(user, &estate, id).await?;
        }
        let amount = parse_amount("amount", &input.amount)?;
        let tendered = match &input.tendered {
            Some(t) if !t.trim().is_empty() => parse_amount("tendered", t)?,
            _ => amount,
        };
        if tendered < amount {
            return Err(DomainError::invalid(
                "tendered",
                format!("the cash handed over ({tendered}) is less than the amount ({amount})"),
            )
            .into());
        }
        let server = now();
        let at = device_time(input.taken_at_ms, server);
        let paid_on = jiff::Timestamp::from_second(at)
            .map(|t| t.to_zoned(crate::estate_tz(&estate)).date())
            .unwrap_or_else(|_| today(&estate));
        let key = cash_payment_key(user.id, &input.client_key);
        // Only what is due now, chosen in the payment's own transaction
        // from the lines it locks, unless the owner chose to prepay the rest
        // (every open line, read here after checking the estate takes
        // prepayments). A retry is answered with the payment its key
        // recorded (the store finds it; see `record_payment` there).
        let (line_ids, due_lines) = if input.prepay {
            self.cash_lines_and_due(&estate, &b, paid_on, true).await?
        } else {
            (Vec::new(), Vec::new())
        };
        let payment = self
            .store
            .record_payment(&NewPayment {
                estate_id: estate.id,
                objects: b.targets.clone(),
                line_ids,
                amount,
                method: "cash".into(),
                paid_on,
                at,
                recorded_by: Some(user.id),
                idempotency_key: Some(key),
                booking_id: Some(booking_id),
                offline: input.offline,
                only_due_now: !input.prepay,
            })
            .await?;
        let receipt = self.receipt_link_of(&payment).await;
        // What is still due now: what was due before less what this payment
        // put on those lines (both as of the same day). A replayed payment
        // was allocated against older figures: read them again.
        let still_owed = if let (false, Some(s)) = (payment.replayed, payment.still_due_now) {
            s
        } else if payment.replayed {
            doorstep_domain::due_totals(
                self.visit_lines_as(&estate, &b, paid_on, false)
                    .await?
                    .0
                    .iter()
                    .map(|l| l.due(paid_on)),
            )
            .due_now
        } else {
            let before = doorstep_domain::due_totals(due_lines.iter().map(|l| l.due(paid_on)));
            let paid_on_due: Fen = payment
                .allocation
                .iter()
                .filter(|a| due_lines.iter().any(|l| l.id == a.line_id))
                .map(|a| a.late_fee + a.principal)
                .sum();
            Fen((before.due_now - paid_on_due).0.max(0))
        };
        Ok(CashRecorded {
            receipt,
            payment,
            change: tendered - amount,
            still_owed,
        })
    }

    /// The lines a cash payment (or a QR / payment-code order) at a visit
    /// may pay on `paid_on`: those due now, and those not yet due only when
    /// the owner chose to prepay and the estate takes prepayments (otherwise
    /// refused, naming `prepay`).
    pub(crate) async fn cash_lines(
        &self,
        estate: &Estate,
        b: &Booking,
        paid_on: Date,
        prepay: bool,
    ) -> AppResult<Vec<i64>> {
        Ok(self.cash_lines_and_due(estate, b, paid_on, prepay).await?.0)
    }

    /// [`App::cash_lines`], and the lines due now as read.
    async fn cash_lines_and_due(
        &self,
        estate: &Estate,
        b: &Booking,
        paid_on: Date,
        prepay: bool,
    ) -> AppResult<(Vec<i64>, Vec<BillLine>)> {
        if prepay && !self.store.collect_settings(estate.id).await?.allow_prepay {
            return Err(DomainError::invalid(
                "prepay",
                "this estate does not take prepayments: only what is due now can be paid",
            )
            .into());
        }
        let (due, later) = self.visit_lines_as(estate, b, paid_on, false).await?;
        let mut ids: Vec<i64> = due.iter().map(|l| l.id).collect();
        if prepay {
            ids.extend(later.iter().map(|l| l.id));
        }
        if ids.is_empty() {
            // No bill line has id 0: nothing is paid, so the store replays a
            // retry of a recorded payment, or refuses the amount as more than
            // is owed (an advance where the estate takes prepayments) —
            // never paying a line not yet due by default.
            ids.push(0);
        }
        Ok((ids, due))
    }

    /// A carried shift id must be the collector's own at this estate (the
    /// store then checks the cash was taken while it was open).
    async fn check_own_shift(&self, user: &User, estate: &Estate, id: i64) -> AppResult<()> {
        let s = match self.store.shift(id).await {
            Ok(s) => s,
            Err(doorstep_store::StoreError::NotFound(_)) => {
                return Err(DomainError::invalid("shift_id", format!("no shift {id}")).into());
            }
            Err(e) => return Err(e.into()),
        };
        if s.collector_id != user.id || s.estate_id != estate.id {
            return Err(DomainError::invalid(
                "shift_id",
                format!("shift {id} is not your shift at this estate"),
            )
            .into());
        }
        Ok(())
    }

    /// Keeps what the owner signed: the strokes with their times and the
    /// PNG, bound to the SHA-256 of the canonical JSON shown and to the
    /// payment it confirms — by id, or by the client key of the cash action
    /// that records it (offline: the payment may reach the server later; it
    /// is linked then). The payment must be this collector's at this visit
    /// in this estate, for the amount shown, and not signed already.
    /// Signing is allowed until the visit is closed.
    pub async fn record_signature(
        &self,
        user: &User,
        booking_id: i64,
        input: &SignatureInput,
    ) -> AppResult<Signature> {
        let (estate, _) = self.visit_for(user, booking_id).await?;
        if let Some(k) = &input.client_key {
            check_key(k)?;
        }
        if let Some(k) = &input.payment_key {
            check_key_field("payment_key", k)?;
        }
        if input.payment_id.is_none() && input.payment_key.is_none() {
            return Err(DomainError::invalid(
                "payment_id",
                "name the payment this signature confirms (payment_id, or payment_key: the client key of the cash taken offline)",
            )
            .into());
        }
        let shown: serde_json::Value = serde_json::from_str(&input.shown)
            .map_err(|e| DomainError::invalid("shown", format!("not JSON: {e}")))?;
        if shown.get("booking_id").and_then(|v| v.as_i64()) != Some(booking_id) {
            return Err(
                DomainError::invalid("shown", "must name this booking (booking_id)").into(),
            );
        }
        let amount = match shown.get("amount_fen").and_then(|v| v.as_i64()) {
            Some(a) if a > 0 => Fen(a),
            _ => {
                return Err(DomainError::invalid(
                    "shown",
                    "must carry the amount shown to the owner (amount_fen, fen, > 0)",
                )
                .into());
            }
        };
        // What the owner saw names the same payment as the request.
        if shown.get("payment_id").and_then(|v| v.as_i64()) != input.payment_id {
            return Err(DomainError::invalid(
                "shown",
                "must name the payment confirmed (payment_id, as in the request)",
            )
            .into());
        }
        if shown.get("payment_key").and_then(|v| v.as_str()) != input.payment_key.as_deref() {
            return Err(DomainError::invalid(
                "shown",
                "must name the payment confirmed (payment_key, as in the request)",
            )
            .into());
        }
        let strokes = input.strokes.get("strokes").and_then(|s| s.as_array());
        let points: usize = strokes
            .map(|s| s.iter().filter_map(|x| x.as_array()).map(|x| x.len()).sum())
            .unwrap_or(0);
        if points < 2 {
            return Err(
                DomainError::invalid("strokes", "the owner has not signed (no strokes)").into(),
            );
        }
        let b64 = input.png_base64.trim();
        let b64 = b64.strip_prefix("data:image/png;base64,").unwrap_or(b64);
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| DomainError::invalid("png_base64", "not base64"))?;
        let server = now();
        Ok(self
            .store
            .record_signature(&NewSignature {
                estate_id: estate.id,
                booking_id: Some(booking_id),
                payment_id: input.payment_id,
                payment_key: input
                    .payment_key
                    .as_deref()
                    .map(|k| cash_payment_key(user.id, k)),
                amount,
                collector_id: user.id,
                shown: doorstep_domain::jcs::to_string(&shown),
                strokes: input.strokes.to_string(),
                png,
                signed_at: device_time(input.signed_at_ms, server),
                offline: input.offline,
                client_key: input.client_key.clone(),
                at: server,
            })
            .await?)
    }

    /// The payments taken by `user` at a visit that the owner has not
    /// signed for, oldest first, each with what it paid: the signature card
    /// confirms the last of them.
    pub async fn unsigned_payments(
        &self,
        user: &User,
        booking_id: i64,
    ) -> AppResult<Vec<UnsignedPayment>> {
        let (estate, _) = self.visit_for(user, booking_id).await?;
        let signed: Vec<i64> = self
            .store
            .signatures(booking_id)
            .await?
            .iter()
            .filter_map(|s| s.payment_id)
            .collect();
        let mut out = Vec::new();
        for p in self.store.booking_payments(booking_id).await? {
            if p.status != "posted" || p.estate_id != estate.id || signed.contains(&p.id) {
                continue;
            }
            let f = self.store.receipt_facts(p.id).await?;
            if f.collector_id != Some(user.id) {
                continue;
            }
            out.push(UnsignedPayment {
                payment_id: p.id,
                amount: p.amount,
                method: p.method,
                paid_at: p.paid_at,
                lines: f
                    .lines
                    .iter()
                    .map(|l| ShownLine {
                        line_id: l.line_id,
                        item: l.item.clone(),
                        period: l.period.clone(),
                        category: l.category.clone(),
                        principal_fen: l.principal.0,
                        late_fee_fen: l.late_fee.0,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// The open QR and payment-code orders at a visit that `user` may see
    /// and cancel (their own; finance: any), oldest first, as the screen
    /// shows them: what the visit page shows again after a reload.
    pub async fn open_orders(
        &self,
        user: &User,
        booking_id: i64,
    ) -> AppResult<Vec<crate::pay::PaymentView>> {
        let (estate, _) = self.visit_for(user, booking_id).await?;
        let mut out = Vec::new();
        for c in self
            .store
            .open_collections_of_booking(estate.id, booking_id)
            .await?
        {
            if c.collector_id == user.id || user.role.allows(Permission::Treasury) {
                out.push(self.payment_view(&c).await?);
            }
        }
        Ok(out)
    }

    /// Applies actions queued on the phone, in order; each exactly once
    /// (keys), each independently (one failing does not stop the rest).
    pub async fn sync_offline(
        &self,
        user: &User,
        actions: &[OfflineAction],
    ) -> AppResult<Vec<SyncResult>> {
        if actions.len() > 200 {
            return Err(DomainError::invalid("actions", "at most 200 actions per sync").into());
        }
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            let (key, r): (Option<String>, AppResult<(bool, serde_json::Value)>) = match a {
                OfflineAction::Checkin { booking_id, input } => (
                    input.client_key.clone(),
                    self.check_in(user, *booking_id, input)
                        .await
                        .map(|c| (c.replayed, serde_json::json!({"checkin_id": c.id, "verdict": c.verdict}))),
                ),
                OfflineAction::Cash { booking_id, input } => (
                    Some(input.client_key.clone()),
                    self.record_cash(user, *booking_id, input).await.map(|c| {
                        (
                            c.payment.replayed,
                            serde_json::json!({"payment_id": c.payment.id, "amount": c.payment.amount.to_string()}),
                        )
                    }),
                ),
                OfflineAction::Signature { booking_id, input } => (
                    input.client_key.clone(),
                    self.record_signature(user, *booking_id, input)
                        .await
                        .map(|s| (s.replayed, serde_json::json!({"signature_id": s.id, "shown_hash": s.shown_hash, "payment_id": s.payment_id}))),
                ),
                OfflineAction::Outcome { booking_id, result, reason, client_key } => {
                    let r = async {
                        let result = doorstep_domain::VisitResult::from_code(result)?;
                        let (_, b) = self.visit_for(user, *booking_id).await?;
                        // Already recorded (a double sync): the same outcome is a replay.
                        if !b.status.is_open() {
                            if b.status == result.status() {
                                return Ok((true, serde_json::json!({"status": b.status.code()})));
                            }
                            return Err(AppError::Conflict(format!("the visit was already recorded as {}", b.status.code())));
                        }
                        let v = self.record_visit(user, *booking_id, result, reason).await?;
                        Ok((false, serde_json::json!({"status": v.booking.status.code()})))
                    }
                    .await;
                    (client_key.clone(), r)
                }
            };
            out.push(match r {
                Ok((replayed, detail)) => SyncResult {
                    client_key: key,
                    ok: true,
                    replayed,
                    detail,
                },
                Err(e) => SyncResult {
                    client_key: key,
                    ok: false,
                    replayed: false,
                    detail: serde_json::json!({"error": e.to_string()}),
                },
            });
        }
        Ok(out)
    }
}
