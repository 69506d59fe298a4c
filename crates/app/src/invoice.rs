//! Invoice requests (发票申请): the owner asks from the receipt's link;
//! the request goes to an invoicing-platform adapter; staff see the queue,
//! export it for manual issuing, and record the outcome.
//!
//! One live request per payment line (a partial unique index): the same
//! money is never invoiced twice. A failed request frees its lines.

use crate::{App, AppError, AppResult, now, require};
use async_trait::async_trait;
use doorstep_domain::cn::CreditCode;
use doorstep_domain::{DomainError, Permission, PhoneNumber};
use doorstep_store::{InvoiceOutcome, InvoiceRequest, NewInvoiceRequest, User};
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;

/// What an invoicing platform said about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformAnswer {
    /// Accepted; the outcome comes later (or staff issue it by hand).
    Queued,
    /// Issued at once.
    Issued {
        /// Invoice number.
        invoice_no: String,
        /// Link to the invoice file.
        file_url: String,
    },
    /// Refused.
    Failed {
        /// Why.
        reason: String,
    },
}

/// An invoicing platform (a tax-control or e-invoice service provider).
/// The default, [`ManualQueue`], keeps requests for staff to issue by hand.
#[async_trait]
pub trait InvoicePlatform: Send + Sync {
    /// The adapter's name, stored with each request.
    fn name(&self) -> &'static str;
    /// Hands a request over.
    async fn submit(&self, request: &InvoiceRequest) -> Result<PlatformAnswer, String>;
}

/// Requests wait in the queue for staff (export, issue, record the number).
pub struct ManualQueue;

#[async_trait]
impl InvoicePlatform for ManualQueue {
    fn name(&self) -> &'static str {
        "manual"
    }
    async fn submit(&self, _: &InvoiceRequest) -> Result<PlatformAnswer, String> {
        Ok(PlatformAnswer::Queued)
    }
}

/// The owner's form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InvoiceForm {
    /// `personal` or `company`.
    pub kind: String,
    /// 抬头: a person's name or the company's registered name.
    pub title: String,
    /// Unified social credit code (company).
    #[serde(default)]
    pub tax_id: String,
    /// Email for the e-invoice.
    #[serde(default)]
    pub email: String,
    /// Or a mobile phone.
    #[serde(default)]
    pub phone: String,
    /// Optional address and telephone.
    #[serde(default)]
    pub address: String,
    /// Optional bank and account number.
    #[serde(default)]
    pub bank: String,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn check_len(field: &'static str, s: &str, max: usize) -> AppResult<()> {
    if s.trim().chars().count() > max {
        return Err(DomainError::invalid(field, format!("at most {max} characters")).into());
    }
    Ok(())
}

/// A checked form: kind, tax id (normalised), email, phone.
pub type Checked = (String, Option<String>, Option<String>, Option<String>);

/// Checks the form; the error names the field.
pub fn validate(form: &InvoiceForm) -> AppResult<Checked> {
    let kind = form.kind.trim();
    if kind != "personal" && kind != "company" {
        return Err(DomainError::invalid(
            "kind",
            format!("must be personal (个人) or company (单位), got {kind:?}"),
        )
        .into());
    }
    let title = form.title.trim();
    if title.is_empty() {
        return Err(DomainError::invalid("title", "the invoice title (抬头) is required").into());
    }
    check_len("title", title, 100)?;
    check_len("address", &form.address, 200)?;
    check_len("bank", &form.bank, 200)?;
    let tax_id = match (kind, opt(&form.tax_id)) {
        ("company", None) => {
            return Err(DomainError::invalid(
                "tax_id",
                "a company invoice needs the unified social credit code (统一社会信用代码)",
            )
            .into());
        }
        (_, Some(t)) => Some(CreditCode::parse(&t)?.as_str().to_string()),
        (_, None) => None,
    };
    let email = match opt(&form.email) {
        Some(e) => {
            let ok = e.len() <= 100
                && e.split_once('@').is_some_and(|(u, d)| {
                    !u.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
                })
                && !e.chars().any(char::is_whitespace);
            if !ok {
                return Err(DomainError::invalid(
                    "email",
                    format!("{e:?} is not an email address"),
                )
                .into());
            }
            Some(e)
        }
        None => None,
    };
    let phone = match opt(&form.phone) {
        Some(p) => Some(PhoneNumber::parse(&p)?.as_str().to_string()),
        None => None,
    };
    if email.is_none() && phone.is_none() {
        return Err(DomainError::invalid(
            "email",
            "give an email address or a mobile number to receive the invoice",
        )
        .into());
    }
    Ok((kind.to_string(), tax_id, email, phone))
}

/// Chinese status names.
pub fn status_zh(s: &str) -> &'static str {
    match s {
        "requested" => "待开票",
        "issued" => "已开票",
        "failed" => "开票失败",
        _ => "未知",
    }
}

impl App {
    /// The owner's request for an invoice on the receipt behind `token`.
    pub async fn request_invoice(
        &self,
        token: &str,
        form: &InvoiceForm,
    ) -> AppResult<InvoiceRequest> {
        let (kind, tax_id, email, phone) = validate(form)?;
        let r = self.receipt_by_token(token).await?;
        if r.status != "issued" {
            return Err(AppError::Conflict(if r.status == "void" {
                "this receipt is void: no invoice can be requested for it".into()
            } else {
                "the receipt is still being issued; try again in a minute".into()
            }));
        }
        let req = self
            .store
            .create_invoice_request(&NewInvoiceRequest {
                receipt_id: r.id,
                kind,
                title: form.title.trim().to_string(),
                tax_id,
                email,
                phone,
                address: opt(&form.address),
                bank: opt(&form.bank),
                platform: self.invoicing.name().to_string(),
                at: now(),
            })
            .await?;
        let answer = self.invoicing.submit(&req).await;
        let outcome = match answer {
            Ok(PlatformAnswer::Queued) => return Ok(req),
            Ok(PlatformAnswer::Issued {
                invoice_no,
                file_url,
            }) => InvoiceOutcome {
                status: "issued".into(),
                invoice_no: Some(invoice_no),
                file_url: Some(file_url),
                reason: None,
                by: None,
                at: now(),
            },
            Ok(PlatformAnswer::Failed { reason }) => InvoiceOutcome {
                status: "failed".into(),
                invoice_no: None,
                file_url: None,
                reason: Some(reason),
                by: None,
                at: now(),
            },
            Err(e) => {
                // The platform could not be reached: the request stays in
                // the queue for staff.
                tracing::warn!(request = req.id, "invoicing platform: {e}");
                return Ok(req);
            }
        };
        Ok(self.store.set_invoice_outcome(req.id, &outcome).await?)
    }

    /// The invoice requests staff may see (finance), optionally by estate
    /// and status.
    pub async fn invoice_queue(
        &self,
        user: &User,
        estate_code: Option<&str>,
        status: Option<&str>,
    ) -> AppResult<Vec<InvoiceRequest>> {
        require(user, Permission::Treasury)?;
        if let Some(s) = status
            && !["requested", "issued", "failed"].contains(&s)
        {
            return Err(DomainError::invalid(
                "status",
                format!("must be requested, issued or failed, got {s:?}"),
            )
            .into());
        }
        let estate = match estate_code {
            Some(c) => Some(self.estate_for(user, c, Permission::Treasury).await?),
            None => None,
        };
        let mut list = self
            .store
            .invoice_requests(user.company_id, estate.as_ref().map(|e| e.id), status)
            .await?;
        if estate.is_none() && !user.estate_ids.is_empty() {
            list.retain(|r| user.estate_ids.contains(&r.estate_id));
        }
        Ok(list)
    }

    /// Records what happened to a request (staff who issued it by hand, or
    /// the platform's failure).
    pub async fn record_invoice_outcome(
        &self,
        user: &User,
        id: i64,
        status: &str,
        invoice_no: Option<&str>,
        file_url: Option<&str>,
        reason: Option<&str>,
    ) -> AppResult<InvoiceRequest> {
        require(user, Permission::Treasury)?;
        let req = self.store.invoice_request(id).await?;
        let estate = self.store.estate_by_id(req.estate_id).await?;
        if req.company_id != user.company_id || !user.can_access(&estate) {
            return Err(AppError::NotFound(format!("invoice request {id}")));
        }
        Ok(self
            .store
            .set_invoice_outcome(
                id,
                &InvoiceOutcome {
                    status: status.trim().to_string(),
                    invoice_no: invoice_no.map(str::to_string),
                    file_url: file_url.map(str::to_string),
                    reason: reason.map(str::to_string),
                    by: Some(user.id),
                    at: now(),
                },
            )
            .await?)
    }
}

/// Column headers of the invoice queue export (one row per line).
pub const QUEUE_HEADERS: [&str; 17] = [
    "申请编号",
    "收据编号",
    "申请时间",
    "类型",
    "发票抬头",
    "纳税人识别号",
    "邮箱",
    "手机",
    "地址电话",
    "开户行及账号",
    "项目名称",
    "税收分类编码",
    "税率",
    "金额(含税,元)",
    "状态",
    "发票号码",
    "备注",
];

/// The queue as an .xlsx workbook, one row per payment line, for staff who
/// issue invoices by hand in the tax platform.
pub fn queue_xlsx(list: &[InvoiceRequest]) -> AppResult<Vec<u8>> {
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Storage(format!("writing xlsx: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("开票申请").map_err(x)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let text = Format::new().set_num_format("@");
    for (c, h) in QUEUE_HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(x)?;
    }
    let mut row = 1u32;
    for r in list {
        let created = jiff::Timestamp::from_second(r.created_at)
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        for l in &r.lines {
            let cells: [(u16, String); 13] = [
                (0, r.id.to_string()),
                (1, doorstep_receipt::number_display(r.receipt_number)),
                (2, created.clone()),
                (
                    3,
                    if r.kind == "company" {
                        "单位"
                    } else {
                        "个人"
                    }
                    .to_string(),
                ),
                (4, r.title.clone()),
                (5, r.tax_id.clone().unwrap_or_default()),
                (6, r.email.clone().unwrap_or_default()),
                (7, r.phone.clone().unwrap_or_default()),
                (8, r.address.clone().unwrap_or_default()),
                (9, r.bank.clone().unwrap_or_default()),
                (10, l.item.clone()),
                (11, l.tax_code.clone()),
                (12, format!("{}%", l.vat_rate_bp as f64 / 100.0)),
            ];
            for (c, v) in cells {
                sheet
                    .write_string_with_format(row, c, v, &text)
                    .map_err(x)?;
            }
            sheet
                .write_number_with_format(row, 13, l.amount.yuan_f64(), &money)
                .map_err(x)?;
            sheet
                .write_string(row, 14, status_zh(&r.status))
                .map_err(x)?;
            sheet
                .write_string(row, 15, r.invoice_no.clone().unwrap_or_default())
                .map_err(x)?;
            sheet
                .write_string(row, 16, r.reason.clone().unwrap_or_default())
                .map_err(x)?;
            row += 1;
        }
    }
    sheet.set_column_width(4, 30).map_err(x)?;
    sheet.set_column_width(5, 22).map_err(x)?;
    sheet.set_column_width(11, 22).map_err(x)?;
    wb.save_to_buffer().map_err(x)
}
