//! E-receipts: issued when a payment completes, signed by the company's
//! Ed25519 key (C2SP signed note), rendered as PDF on demand, verified by
//! note, PDF or number, voided only through an approved void.
//!
//! The receipt's number is taken in the payment's own transaction (no gaps,
//! never reused). Signing happens right after; if it fails the payment
//! stands, the receipt stays `pending`, and the receipt job signs it later.

use crate::{App, AppError, AppResult, now, require};
use doorstep_domain::{DomainError, Permission};
use doorstep_merkle::note::{Signer, Verifier};
use doorstep_receipt::{ContentLine, Layout, ReceiptContent};
use doorstep_store::{
    IssueReceipt, NewEvidence, NewMessage, Receipt, ReceiptFacts, SigningKey, User,
};
use serde::Serialize;

/// Copies of a receipt's link that may be sent to other phones.
pub const MAX_COPIES: i64 = 5;

/// The lease name of the job that signs pending receipts.
pub const RECEIPT_JOB: &str = "receipt-issuer";

/// The origin (log name, and key name) of a company's evidence log and
/// receipts. Stable for the life of the company, whatever URL it is served at.
pub fn origin(company_id: i64) -> String {
    format!("doorstep/company/{company_id}")
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptVerdict {
    /// `valid`, `void` or `invalid`; `exists` when only a number was
    /// given and a receipt of that number was issued.
    pub verdict: &'static str,
    /// Why, in English.
    pub why: String,
    /// Why, in Chinese.
    pub why_zh: String,
    /// The signed content, when the signature verified.
    pub content: Option<ReceiptContent>,
    /// The key that signed.
    pub key_name: Option<String>,
    /// What number + verification code may show: amount, date, masked payer.
    pub summary: Option<ReceiptSummary>,
    /// The stored receipt, when one matched. Never serialised: it holds the
    /// whole note, which a public answer must not hand out.
    #[serde(skip)]
    pub receipt: Option<Receipt>,
}

/// The little a receipt's number and verification code reveal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptSummary {
    /// Receipt number.
    pub number: i64,
    /// As printed, `00000123`.
    pub number_display: String,
    /// The issuing company.
    pub company: String,
    /// What was paid, in fen.
    pub amount_fen: i64,
    /// When, as printed (`2026-11-27 19:42`).
    pub paid_at: String,
    /// The payer's name, masked: `张*`.
    pub payer: String,
}

impl ReceiptSummary {
    fn of(c: &ReceiptContent) -> Self {
        ReceiptSummary {
            number: c.number,
            number_display: doorstep_receipt::number_display(c.number),
            company: c.company.clone(),
            amount_fen: c.total_fen,
            paid_at: c.issued_at_display(),
            payer: mask_payer(&c.payer),
        }
    }
}

/// `张三、李四` → `张*、李*`: enough for a payer to recognise their own
/// receipt, too little to learn who paid.
pub fn mask_payer(s: &str) -> String {
    s.split('、')
        .filter_map(|name| name.trim().chars().next().map(|first| format!("{first}*")))
        .collect::<Vec<_>>()
        .join("、")
}

/// Lookups by receipt number one client may make per window: numbers are
/// sequential, so without a limit they could be walked.
pub const LOOKUPS_PER_WINDOW: u32 = 30;
/// The lookup window, in seconds.
pub const LOOKUP_WINDOW: i64 = 600;

impl ReceiptVerdict {
    fn invalid(why: impl Into<String>, why_zh: impl Into<String>) -> Self {
        ReceiptVerdict {
            verdict: "invalid",
            why: why.into(),
            why_zh: why_zh.into(),
            content: None,
            key_name: None,
            summary: None,
            receipt: None,
        }
    }

    /// An invalid verdict that keeps the stored receipt (for the caller's
    /// own use) but shows nothing of the content.
    fn rejected(self, why: impl Into<String>, why_zh: impl Into<String>) -> Self {
        ReceiptVerdict {
            receipt: self.receipt,
            key_name: self.key_name,
            ..ReceiptVerdict::invalid(why, why_zh)
        }
    }
}

/// What a PDF's printing depends on besides its note, owned.
struct Printing {
    verify_url: String,
    void: Option<(String, String)>,
}

/// The layout asked for by name (`a4`, `a5`, `80mm`).
pub fn parse_layout(s: &str) -> AppResult<Layout> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "a4" => Ok(Layout::A4),
        "a5" => Ok(Layout::A5),
        "80mm" | "thermal" | "80" => Ok(Layout::Thermal80),
        other => Err(DomainError::invalid(
            "format",
            format!("must be a4, a5 or 80mm, got {other:?}"),
        )
        .into()),
    }
}

fn local_rfc3339(at: i64, tz: &str) -> String {
    let tz = jiff::tz::TimeZone::get(tz)
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    match jiff::Timestamp::from_second(at) {
        Ok(t) => t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => at.to_string(),
    }
}

/// The receipt's content from what the store knows about the payment.
pub fn content_of(facts: &ReceiptFacts, number: i64) -> ReceiptContent {
    let mut objects: Vec<&str> = Vec::new();
    let mut payers: Vec<&str> = Vec::new();
    for l in &facts.lines {
        if !objects.contains(&l.object_label.as_str()) {
            objects.push(&l.object_label);
        }
        for p in l.payer.split('、').filter(|p| !p.is_empty()) {
            if !payers.contains(&p) {
                payers.push(p);
            }
        }
    }
    let mut lines: Vec<ContentLine> = facts
        .lines
        .iter()
        .map(|l| ContentLine {
            item: l.item.clone(),
            period: l.period.clone(),
            basis: l.basis.clone(),
            amount_fen: l.amount.0,
            late_fee_fen: l.late_fee.0,
            waived_fen: l.waived.0,
            paid_fen: (l.principal + l.late_fee).0,
        })
        .collect();
    if facts.advance.0 > 0 {
        lines.push(ContentLine {
            item: "预收款".into(),
            period: String::new(),
            basis: String::new(),
            amount_fen: facts.advance.0,
            late_fee_fen: 0,
            waived_fen: 0,
            paid_fen: facts.advance.0,
        });
    }
    ReceiptContent {
        v: doorstep_receipt::FORMAT_VERSION,
        company_id: facts.company_id,
        company: facts.company.clone(),
        company_code: facts.company_code.clone(),
        estate: facts.estate.clone(),
        number,
        issued_at: local_rfc3339(facts.paid_at, &facts.time_zone),
        payer: payers.join("、"),
        object: objects.join("、"),
        lines,
        total_fen: facts.amount.0,
        method: facts.method.clone(),
        transaction_id: facts.transaction_id.clone(),
        collector: facts.collector.clone().unwrap_or_default(),
        payment_id: facts.payment_id,
    }
}

/// The evidence record of a payment (RFC 8785 bytes).
pub fn payment_record(facts: &ReceiptFacts, receipt_number: i64, receipt_sha256: &str) -> Vec<u8> {
    let utc = |at: i64| {
        jiff::Timestamp::from_second(at)
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    let mut objects: Vec<String> = facts
        .lines
        .iter()
        .map(|l| format!("{}:{}", l.object.0.code(), l.object.1))
        .collect();
    objects.dedup();
    let breakdown: Vec<serde_json::Value> = facts
        .lines
        .iter()
        .map(|l| {
            serde_json::json!({
                "line": l.line_id,
                "category": l.category,
                "item": l.item,
                "period": l.period,
                "principal_fen": l.principal.0,
                "late_fee_fen": l.late_fee.0,
            })
        })
        .collect();
    let v = serde_json::json!({
        "v": 1,
        "kind": "payment",
        "company": facts.company_id,
        "estate": facts.estate_id,
        "payment": facts.payment_id,
        "booking": facts.booking_id,
        "objects": objects,
        "breakdown": breakdown,
        "advance_fen": facts.advance.0,
        "amount_fen": facts.amount.0,
        "method": facts.method,
        "provider": facts.provider,
        "transaction_id": facts.transaction_id,
        "collector": facts.collector_id,
        "receipt_number": receipt_number,
        "receipt_sha256": receipt_sha256,
        "paid_at": utc(facts.paid_at),
    });
    doorstep_domain::jcs::to_vec(&v)
}

impl Printing {
    /// The extras of a render; `marked` draws the void mark of a voided
    /// receipt (a PDF printed before the void has none).
    fn extras<'a>(
        &'a self,
        r: &Receipt,
        note: &'a str,
        key_name: &'a str,
        marked: bool,
    ) -> doorstep_receipt::Extras<'a> {
        doorstep_receipt::Extras {
            verify_url: &self.verify_url,
            evidence_index: r.leaf_index,
            void: self
                .void
                .as_ref()
                .filter(|_| marked)
                .map(|(why, at)| (why.as_str(), at.as_str())),
            signed_note: note,
            key_name,
        }
    }
}

impl App {
    /// The key that signs for a company now, made on first use.
    pub async fn signer(&self, company_id: i64) -> AppResult<(SigningKey, Signer)> {
        let (key, skey) = match self.store.active_signing_key(company_id).await? {
            Some(k) => k,
            None => {
                self.new_signing_key(company_id, true).await?;
                self.store
                    .active_signing_key(company_id)
                    .await?
                    .ok_or_else(|| AppError::Storage("no signing key after creating one".into()))?
            }
        };
        let signer = Signer::from_key(&skey)
            .map_err(|e| AppError::Storage(format!("stored signing key {}: {e}", key.id)))?;
        Ok((key, signer))
    }

    async fn new_signing_key(&self, company_id: i64, if_none: bool) -> AppResult<SigningKey> {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        let signer = Signer::from_seed(&origin(company_id), &seed)
            .map_err(|e| AppError::Storage(e.to_string()))?;
        let vkey = signer.verifier().to_key();
        Ok(self
            .store
            .add_signing_key(
                company_id,
                &origin(company_id),
                &vkey,
                &signer.to_key(),
                now(),
                if_none,
            )
            .await?)
    }

    /// Rotates the signing key of the user's company (admin): a new key
    /// signs from now on; the old one is retired and still verifies what it
    /// signed before.
    pub async fn rotate_signing_key(&self, user: &User) -> AppResult<SigningKey> {
        require(user, Permission::ManageUsers)?;
        self.rotate_company_key(user.company_id).await
    }

    /// Rotates a company's key (command line).
    pub async fn rotate_company_key(&self, company_id: i64) -> AppResult<SigningKey> {
        self.store.company(company_id).await?;
        self.new_signing_key(company_id, false).await
    }

    /// Every key this server has signed with, as verifiers.
    pub async fn verifiers(&self) -> AppResult<Vec<(SigningKey, Verifier)>> {
        let mut out = Vec::new();
        for k in self.store.all_signing_keys().await? {
            match Verifier::from_key(&k.vkey) {
                Ok(v) => out.push((k, v)),
                Err(e) => tracing::error!(key = k.id, "stored verifier key unusable: {e}"),
            }
        }
        Ok(out)
    }

    /// Signs a pending receipt and logs the payment's evidence record, in
    /// one transaction. An issued or void receipt is returned as it is.
    pub async fn issue_receipt(&self, receipt_id: i64) -> AppResult<Receipt> {
        let r = self.store.receipt(receipt_id).await?;
        self.issue(r).await
    }

    /// Issues a receipt already read (see [`App::issue_receipt`]).
    async fn issue(&self, r: Receipt) -> AppResult<Receipt> {
        if r.status != "pending" {
            return Ok(r);
        }
        let id = r.id;
        self.issue_batch(vec![r])
            .await
            .pop()
            .unwrap_or_else(|| Err(AppError::Storage(format!("receipt {id} not answered"))))
    }

    /// A receipt as it should be shown: one still pending is signed now
    /// (the sequencer's next pass would do it within a moment); if signing
    /// fails it is shown pending and the job retries.
    async fn ready(&self, r: Receipt) -> Receipt {
        if r.status != "pending" {
            return r;
        }
        match self.issue(r.clone()).await {
            // Read back settled: its record integrated, its leaf known.
            Ok(done) => self.store.receipt(done.id).await.unwrap_or(done),
            Err(e) => {
                tracing::warn!(receipt = r.id, "receipt not signed yet, will retry: {e}");
                r
            }
        }
    }

    /// Signs pending receipts and logs their payments' records, all in one
    /// transaction, with each one's link queued to its owners' phones (for
    /// payments of the last day; receipts signed later for old payments — an
    /// upgrade, the demo's history — are not texted out of the blue). The
    /// facts of the whole batch are read in three queries and each
    /// company's key once. Answers in the order given; a receipt that is
    /// not pending is answered as it is; one that fails is left pending
    /// with the error noted, and the job retries it.
    async fn issue_batch(&self, rs: Vec<Receipt>) -> Vec<AppResult<Receipt>> {
        use std::collections::HashMap;
        let mut out: Vec<Option<AppResult<Receipt>>> = rs
            .iter()
            .map(|r| (r.status != "pending").then(|| Ok(r.clone())))
            .collect();
        let ids: Vec<i64> = rs
            .iter()
            .filter(|r| r.status == "pending")
            .map(|r| r.payment_id)
            .collect();
        let mut facts: HashMap<i64, ReceiptFacts> = match self.store.receipt_facts_many(&ids).await
        {
            Ok(f) => f.into_iter().map(|f| (f.payment_id, f)).collect(),
            Err(e) => {
                let e = AppError::from(e).to_string();
                for (slot, r) in rs.iter().enumerate() {
                    if out[slot].is_none() {
                        let _ = self.store.receipt_attempt_failed(r.id, &e).await;
                        out[slot] = Some(Err(AppError::Storage(e.clone())));
                    }
                }
                return out.into_iter().flatten().collect();
            }
        };
        let mut signers: HashMap<i64, (SigningKey, Signer)> = HashMap::new();
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        for (slot, r) in rs.iter().enumerate() {
            if out[slot].is_some() {
                continue;
            }
            let prepared = match facts.remove(&r.payment_id) {
                Some(f) => self.prepare_issue(r, &f, &mut signers).await,
                None => Err(AppError::NotFound(format!("payment {}", r.payment_id))),
            };
            match prepared {
                Ok(i) => {
                    batch.push(i);
                    slots.push(slot);
                }
                Err(e) => {
                    let _ = self
                        .store
                        .receipt_attempt_failed(r.id, &e.to_string())
                        .await;
                    out[slot] = Some(Err(e));
                }
            }
        }
        match self.store.issue_receipts(&batch).await {
            Ok(done) => {
                for (slot, (r, _)) in slots.into_iter().zip(done) {
                    out[slot] = Some(Ok(r));
                }
            }
            Err(e) => {
                let e = AppError::from(e).to_string();
                for slot in slots {
                    let _ = self.store.receipt_attempt_failed(rs[slot].id, &e).await;
                    out[slot] = Some(Err(AppError::Storage(e.clone())));
                }
            }
        }
        out.into_iter().flatten().collect()
    }

    /// Signs one receipt from its facts: the note, the payment's evidence
    /// record and the texts of its link.
    async fn prepare_issue(
        &self,
        r: &Receipt,
        facts: &ReceiptFacts,
        signers: &mut std::collections::HashMap<i64, (SigningKey, Signer)>,
    ) -> AppResult<IssueReceipt> {
        let (key, signer) = match signers.entry(r.company_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.signer(r.company_id).await?)
            }
        };
        let content = content_of(facts, r.number);
        let note = content
            .sign(signer)
            .map_err(|e| AppError::Conflict(format!("receipt {}: {e}", r.number)))?;
        let text = content
            .note_text()
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        let sha = hex::encode(doorstep_receipt::receipt_hash(&text));
        let objects = {
            let mut o: Vec<_> = facts.lines.iter().map(|l| l.object).collect();
            o.dedup();
            o
        };
        let at = now();
        let messages = if r.created_at > at - 86_400 {
            self.link_messages(r, &facts.estate, &facts.phones)
        } else {
            Vec::new()
        };
        Ok(IssueReceipt {
            receipt_id: r.id,
            note,
            sha256: sha.clone(),
            signing_key_id: key.id,
            evidence: NewEvidence {
                kind: "payment".into(),
                estate_id: Some(facts.estate_id),
                booking_id: facts.booking_id,
                payment_id: Some(facts.payment_id),
                objects,
                data: payment_record(facts, r.number, &sha),
                at,
            },
            messages,
            at,
        })
    }

    /// A payment's receipt right after the payment: numbered (no gap, never
    /// reused) and signed by the sequencer's next pass, in a batch with the
    /// others, or by whoever reads it first — the owner's link, staff, the
    /// verification page. `None` if the payment has none or it cannot be
    /// read now (the payment stands either way).
    pub async fn receipt_after_payment(&self, payment_id: i64) -> Option<Receipt> {
        match self.store.receipt_of_payment(payment_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(payment = payment_id, "receipt lookup failed: {e}");
                None
            }
        }
    }

    /// A payment's receipt signed now, for a payment whose receipt is
    /// wanted at once (a counter payment, printed while the owner waits).
    pub async fn receipt_issued_now(&self, payment_id: i64) -> Option<Receipt> {
        let r = self.receipt_after_payment(payment_id).await?;
        Some(self.ready(r).await)
    }

    /// One pass of the receipt job: signs every pending receipt, in
    /// batches of 200. Runs under a job lease so one instance does it at a
    /// time (the sequencer's loop calls it every pass).
    pub async fn issue_pending_receipts(&self, holder: &str) -> AppResult<usize> {
        if !self.store.claim_job(RECEIPT_JOB, holder, now(), 60).await? {
            return Ok(0);
        }
        let mut n = 0;
        loop {
            let pending = self.store.pending_receipts(200).await?;
            let full = pending.len() == 200;
            let mut failed = 0;
            for r in self.issue_batch(pending).await {
                match r {
                    Ok(_) => n += 1,
                    Err(e) => {
                        failed += 1;
                        tracing::warn!("receipt job: {e}");
                    }
                }
            }
            // Stop when the queue is drained, or when a failing receipt
            // would come back first in the next batch.
            if !full || failed > 0 || n >= 5_000 {
                return Ok(n);
            }
        }
    }

    /// The owner's link to a receipt.
    pub fn receipt_url(&self, r: &Receipt) -> String {
        self.receipt_url_of(&r.token)
    }

    fn receipt_url_of(&self, token: &str) -> String {
        format!("{}/r/{token}", self.pay.public_url.trim_end_matches('/'))
    }

    /// The answer's form of a receipt reference.
    pub(crate) fn link_of(&self, r: doorstep_store::ReceiptRef) -> crate::collect::ReceiptLink {
        crate::collect::ReceiptLink {
            number: r.number.map(doorstep_receipt::number_display),
            url: self.receipt_url_of(&r.token),
            status: r.status,
        }
    }

    /// The link of a payment's receipt as drawn in its transaction, or
    /// looked up (a replayed payment carries none).
    pub(crate) async fn receipt_link_of(
        &self,
        p: &doorstep_store::PaymentRecord,
    ) -> Option<crate::collect::ReceiptLink> {
        match &p.receipt {
            Some(r) => Some(self.link_of(r.clone())),
            None => self.receipt_link(p.id).await,
        }
    }

    /// A payment's receipt link as known now (one query, nothing numbered
    /// or signed here): what the answer to a payment carries. `None` if the
    /// payment has none or it cannot be read now (the payment stands).
    pub async fn receipt_link(&self, payment_id: i64) -> Option<crate::collect::ReceiptLink> {
        match self.store.receipt_ref_of_payment(payment_id).await {
            Ok(r) => r.map(|r| self.link_of(r)),
            Err(e) => {
                tracing::warn!(payment = payment_id, "receipt lookup failed: {e}");
                None
            }
        }
    }

    /// Queues the receipt's link by SMS to the owners' phones of record (or
    /// to `to` only: a copy for a son or daughter).
    pub async fn send_receipt_link(&self, r: &Receipt, to: Option<&str>) -> AppResult<usize> {
        let phones: Vec<String> = match to {
            Some(p) => {
                let phone = doorstep_domain::PhoneNumber::parse(p)?.as_str().to_string();
                if !self.store.take_receipt_copy(r.id, MAX_COPIES).await? {
                    return Err(AppError::Conflict(format!(
                        "this receipt's link has already been sent to {MAX_COPIES} other phones; \
                         forward the link instead"
                    )));
                }
                vec![phone]
            }
            None => self.receipt_phones(r).await?,
        };
        self.send_link_to(r, &phones).await
    }

    /// Queues the receipt's link to `phones`; returns how many.
    async fn send_link_to(&self, r: &Receipt, phones: &[String]) -> AppResult<usize> {
        if phones.is_empty() {
            return Ok(0);
        }
        let estate = self.store.estate_by_id(r.estate_id).await?;
        for m in self.link_messages(r, &estate.name, phones) {
            self.store.enqueue(&m, None).await?;
        }
        Ok(phones.len())
    }

    /// The texts of a receipt's link to `phones`.
    fn link_messages(&self, r: &Receipt, estate: &str, phones: &[String]) -> Vec<NewMessage> {
        let body = format!(
            "【{}】您的电子收据 No.{} 已开具，点击查看、下载或申请发票：{}",
            estate,
            doorstep_receipt::number_display(r.number),
            self.receipt_url(r)
        );
        phones
            .iter()
            .map(|p| NewMessage {
                estate_id: Some(r.estate_id),
                channel: "sms".into(),
                recipient: p.clone(),
                kind: "receipt".into(),
                body: body.clone(),
                due_at: now(),
            })
            .collect()
    }

    async fn receipt_phones(&self, r: &Receipt) -> AppResult<Vec<String>> {
        Ok(self.store.receipt_facts(r.payment_id).await?.phones)
    }

    /// The receipt as PDF in `layout`.
    pub async fn receipt_pdf(&self, r: &Receipt, layout: Layout) -> AppResult<Vec<u8>> {
        let note = r.note.as_deref().ok_or_else(|| {
            AppError::Conflict(format!(
                "receipt {} is still being issued; try again in a minute",
                doorstep_receipt::number_display(r.number)
            ))
        })?;
        let verifiers: Vec<Verifier> = self
            .verifiers()
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let opened = doorstep_receipt::open(note, &verifiers)
            .map_err(|e| AppError::Storage(format!("stored receipt {}: {e}", r.id)))?;
        let p = self.printing(r, note);
        let extras = p.extras(r, note, &opened.key_name, true);
        doorstep_receipt::render(&opened.content, &extras, layout)
            .map_err(|e| AppError::Storage(format!("rendering receipt {}: {e}", r.id)))
    }

    /// The public verification link printed in the receipt's QR code:
    /// number and verification code, never the owner's private link.
    pub fn verify_url(&self, r: &Receipt, note: &str) -> String {
        format!(
            "{}/verify?company={}&number={}&code={}",
            self.pay.public_url.trim_end_matches('/'),
            r.company_id,
            doorstep_receipt::number_display(r.number),
            doorstep_receipt::verification_code(note)
        )
    }

    fn printing(&self, r: &Receipt, note: &str) -> Printing {
        let voided = r
            .voided_at
            .map(|t| local_rfc3339(t, "Asia/Shanghai").replace('T', " "));
        let void = match (&r.void_reason, voided) {
            (Some(why), Some(at)) if r.status == "void" => Some((why.clone(), at)),
            _ => None,
        };
        Printing {
            verify_url: self.verify_url(r, note),
            void,
        }
    }

    /// A receipt for staff of its estate.
    pub async fn receipt_for(&self, user: &User, id: i64) -> AppResult<Receipt> {
        require(user, Permission::ReadBills)?;
        let r = self.store.receipt(id).await?;
        let estate = self.store.estate_by_id(r.estate_id).await?;
        if !user.can_access(&estate) {
            return Err(AppError::NotFound(format!("receipt {id}")));
        }
        Ok(self.ready(r).await)
    }

    /// The receipt behind an owner's link.
    pub async fn receipt_by_token(&self, token: &str) -> AppResult<Receipt> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::NotFound("receipt".into()));
        }
        let r = self
            .store
            .receipt_by_token(token)
            .await?
            .ok_or_else(|| AppError::NotFound("receipt".into()))?;
        Ok(self.ready(r).await)
    }

    /// Asks for a receipt to be voided: a void of its payment, which finance
    /// (someone else) must approve; the approval voids the receipt and logs it.
    pub async fn request_receipt_void(
        &self,
        user: &User,
        id: i64,
        reason: &str,
    ) -> AppResult<doorstep_store::Reversal> {
        let r = self.receipt_for(user, id).await?;
        if r.status == "void" {
            return Err(AppError::Conflict(format!(
                "receipt {} is already void",
                doorstep_receipt::number_display(r.number)
            )));
        }
        self.request_reversal(user, r.payment_id, "void", reason)
            .await
    }

    /// Verifies a signed receipt note: the signature by one of our keys (in
    /// force when it signed), the receipt on record with the same content,
    /// and whether it has been voided.
    pub async fn verify_receipt_note(&self, note: &str) -> AppResult<ReceiptVerdict> {
        let keys = self.verifiers().await?;
        let verifiers: Vec<Verifier> = keys.iter().map(|(_, v)| v.clone()).collect();
        let opened = match doorstep_receipt::open(note, &verifiers) {
            Ok(o) => o,
            Err(e) => {
                let zh = match &e {
                    doorstep_receipt::ReceiptError::NotAReceipt => "这不是本系统开具的电子收据",
                    doorstep_receipt::ReceiptError::UnknownKey => {
                        "签名密钥不属于本系统任何公司，收据不可信"
                    }
                    doorstep_receipt::ReceiptError::BadSignature(_) => {
                        "签名校验失败：收据内容在签名后被改动"
                    }
                    _ => "收据格式错误，无法验证",
                };
                return Ok(ReceiptVerdict::invalid(e.to_string(), zh));
            }
        };
        let c = &opened.content;
        let key = keys
            .iter()
            .find(|(_, v)| v.name() == opened.key_name)
            .map(|(k, _)| k.clone());
        let issued = c
            .issued_at
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_second())
            .unwrap_or(i64::MAX);
        if let Some(k) = &key
            && k.company_id != c.company_id
        {
            return Ok(ReceiptVerdict::invalid(
                "signed by another company's key",
                "签名密钥与开票公司不符",
            ));
        }
        let stored = self.store.receipt_by_number(c.company_id, c.number).await?;
        let mut v = ReceiptVerdict {
            verdict: "valid",
            why: String::new(),
            why_zh: String::new(),
            content: Some(c.clone()),
            key_name: Some(opened.key_name.clone()),
            summary: None,
            receipt: stored.clone(),
        };
        let Some(stored) = stored else {
            v.verdict = "invalid";
            v.why = format!("no receipt No. {} was issued by this company", c.number);
            v.why_zh = format!(
                "本公司没有开具过编号 {} 的收据",
                doorstep_receipt::number_display(c.number)
            );
            return Ok(v);
        };
        let sha = hex::encode(opened.body_sha256);
        if stored.sha256.as_deref() != Some(sha.as_str()) {
            v.verdict = "invalid";
            v.why = format!(
                "receipt No. {} on record has different content (signed copies differ)",
                c.number
            );
            v.why_zh = "与存档的同号收据内容不一致".into();
            return Ok(v);
        }
        if let Some(k) = &key
            && let Some(retired) = k.retired_at
            && issued > retired + 300
        {
            v.verdict = "invalid";
            v.why = "signed by a key after it was retired".into();
            v.why_zh = "签名时该密钥已停用".into();
            return Ok(v);
        }
        if stored.status == "void" {
            v.verdict = "void";
            v.why = format!(
                "the signature is genuine, but the receipt was voided: {}",
                stored.void_reason.clone().unwrap_or_default()
            );
            v.why_zh = format!(
                "签名真实，但该收据已作废：{}",
                stored.void_reason.clone().unwrap_or_default()
            );
            return Ok(v);
        }
        v.why = format!(
            "genuine: signed by {} and on record as issued",
            opened.key_name
        );
        v.why_zh = "真实有效：签名验证通过，与存档一致".into();
        Ok(v)
    }

    /// Verifies a receipt PDF: the signed note embedded in it, then that
    /// the pages are exactly what that note renders to (in the file's
    /// layout, with the receipt's status as printed now or, for a voided
    /// receipt, as printed before its void). The signature covers the note,
    /// not the pages, so a PDF that displays anything else is invalid.
    pub async fn verify_receipt_pdf(&self, pdf: &[u8]) -> AppResult<ReceiptVerdict> {
        let note = match doorstep_receipt::extract_note(pdf) {
            Ok(note) => note,
            Err(e) => {
                return Ok(ReceiptVerdict::invalid(
                    format!(
                        "no signed receipt found in the file ({e}); if it was saved again by \
                         another program, check the receipt by its number and verification code"
                    ),
                    "文件中没有找到签名的收据数据；如该文件经其他程序另存过，请用收据编号和验证码核验",
                ));
            }
        };
        let v = self.verify_receipt_note(&note).await?;
        let (Some(c), Some(r), Some(key)) = (&v.content, &v.receipt, &v.key_name) else {
            return Ok(v);
        };
        if v.verdict == "invalid" {
            return Ok(v);
        }
        let p = self.printing(r, &note);
        let candidates = [
            p.extras(r, &note, key, true),
            p.extras(r, &note, key, false),
        ];
        let candidates = if p.void.is_some() {
            &candidates[..]
        } else {
            &candidates[..1]
        };
        let check = doorstep_receipt::check_pages(pdf, c, candidates)
            .map_err(|e| AppError::Storage(format!("re-rendering receipt {}: {e}", r.id)))?;
        let number = doorstep_receipt::number_display(c.number);
        Ok(match check {
            doorstep_receipt::PageCheck::Same { .. } => v,
            doorstep_receipt::PageCheck::OtherReceipt(n) => v.rejected(
                format!(
                    "the pages are those of another receipt (No. {}), not of the signed \
                     receipt No. {number} embedded in the file",
                    doorstep_receipt::number_display(n)
                ),
                format!(
                    "页面显示的是另一张收据（No.{}）的内容，与文件内签名的收据 No.{number} 不符",
                    doorstep_receipt::number_display(n)
                ),
            ),
            doorstep_receipt::PageCheck::Resaved => v.rejected(
                "the file was saved again by another program, so its pages cannot be checked \
                 against the signature; check the receipt by its number and verification code \
                 instead",
                "该文件已被其他程序另存，无法核对页面内容与签名是否一致；请改用收据编号和验证码核验",
            ),
            doorstep_receipt::PageCheck::Altered => v.rejected(
                "the pages do not match what was signed",
                "页面内容与签名不符",
            ),
        })
    }

    /// A public lookup by company and receipt number, with the verification
    /// code printed on the receipt when the reader has it. Limited per
    /// `client` (every lookup counts, right or wrong). Without the code the
    /// answer says only whether the number exists or is void; with the right
    /// code, the verdict with the amount, date and masked payer. Never the
    /// payer's name, room or lines.
    pub async fn lookup_receipt(
        &self,
        client: &str,
        company_id: i64,
        number: i64,
        code: Option<&str>,
    ) -> AppResult<ReceiptVerdict> {
        self.throttle(
            &format!("receipt-lookup:{client}"),
            LOOKUPS_PER_WINDOW,
            LOOKUP_WINDOW,
        )
        .await?;
        let shown = doorstep_receipt::number_display(number);
        let Some(r) = self.store.receipt_by_number(company_id, number).await? else {
            return Ok(ReceiptVerdict::invalid(
                format!("no receipt No. {shown} was issued by company {company_id}"),
                format!("没有编号为 {shown} 的收据"),
            ));
        };
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        match (code, r.note.as_deref()) {
            (None, _) => Ok(number_only(&r)),
            (Some(_), None) => Ok(ReceiptVerdict::invalid(
                "the receipt is being issued (not signed yet); try again in a minute",
                "收据正在开具，尚未签名，请稍后再试",
            )),
            (Some(code), Some(note)) if doorstep_receipt::code_matches(note, code) => {
                let mut v = self.verify_receipt_note(note).await?;
                v.summary = v.content.take().map(|c| ReceiptSummary::of(&c));
                v.receipt = None;
                Ok(v)
            }
            (Some(_), Some(_)) => Ok(ReceiptVerdict::invalid(
                format!(
                    "the verification code does not match receipt No. {shown}; check the code \
                     printed on the receipt"
                ),
                format!("验证码与编号 {shown} 的收据不符，请核对收据上印的验证码"),
            )),
        }
    }

    /// Verifies a receipt by company and number against what is on record,
    /// showing all of it: for operators (the command line), never for the
    /// public, who use [`App::lookup_receipt`].
    pub async fn verify_receipt_number(
        &self,
        company_id: i64,
        number: i64,
    ) -> AppResult<ReceiptVerdict> {
        let Some(r) = self.store.receipt_by_number(company_id, number).await? else {
            return Ok(ReceiptVerdict::invalid(
                format!("no receipt No. {number} was issued by company {company_id}"),
                format!(
                    "没有编号为 {} 的收据",
                    doorstep_receipt::number_display(number)
                ),
            ));
        };
        let r = self.ready(r).await;
        match &r.note {
            Some(note) => self.verify_receipt_note(note).await,
            None => Ok(ReceiptVerdict {
                receipt: Some(r),
                ..ReceiptVerdict::invalid(
                    "the receipt is being issued (not signed yet)",
                    "收据正在开具，尚未签名",
                )
            }),
        }
    }
}

/// What a receipt number alone may say: that it exists, or is void.
fn number_only(r: &Receipt) -> ReceiptVerdict {
    let shown = doorstep_receipt::number_display(r.number);
    if r.status == "void" {
        return ReceiptVerdict {
            verdict: "void",
            ..ReceiptVerdict::invalid(
                format!("receipt No. {shown} exists but has been voided"),
                format!("编号 {shown} 的收据存在，但已作废"),
            )
        };
    }
    ReceiptVerdict {
        verdict: "exists",
        ..ReceiptVerdict::invalid(
            format!(
                "a receipt No. {shown} was issued; enter the verification code printed on it \
                 to check its amount, date and payer"
            ),
            format!("编号 {shown} 的收据存在；输入收据上印的验证码可核对金额、日期和交款人"),
        )
    }
}
