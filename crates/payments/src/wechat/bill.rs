//! The daily trade bill (`bill_type=ALL`): CSV with a header, detail rows,
//! a summary header and a summary row. Every value in the detail and summary
//! rows starts with a back-tick; amounts are in yuan.

use super::PROVIDER;
use crate::{BillKind, BillRecord, PayError, fen_to_yuan, yuan_to_fen};

/// The `ALL` bill's detail header.
pub const ALL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";

/// The `ALL` bill's summary header.
pub const ALL_SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

/// One line of a bill as the simulator renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRow {
    /// Payment time, or refund time for refunds (unix seconds).
    pub at: i64,
    /// AppID.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
    /// Device id.
    pub device_id: String,
    /// WeChat's transaction number.
    pub transaction_id: String,
    /// Our order number.
    pub out_trade_no: String,
    /// Payer openid.
    pub openid: String,
    /// `NATIVE` / `MICROPAY`.
    pub trade_type: String,
    /// Payment or refund.
    pub kind: BillKind,
    /// Order amount, fen.
    pub amount_fen: i64,
    /// WeChat refund id (refunds).
    pub refund_id: String,
    /// Our refund number (refunds).
    pub out_refund_no: String,
    /// Refund amount, fen (refunds).
    pub refund_fen: i64,
    /// Description.
    pub description: String,
    /// Attach.
    pub attach: String,
    /// Fee, fen.
    pub fee_fen: i64,
}

fn local_time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn signed_yuan_to_fen(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(rest) => yuan_to_fen(rest).map(|v| -v),
        None => yuan_to_fen(s),
    }
}

/// Renders an `ALL` bill (CRLF line ends, back-ticked values).
pub fn render_trade_bill(rows: &[TradeBillRow]) -> String {
    let mut out = String::new();
    out.push_str(ALL_HEADER);
    out.push_str("\r\n");
    let tick = |s: &str| {
        let v = format!("`{s}");
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v
        }
    };
    let (mut paid, mut refunded, mut fees, mut ordered) = (0i64, 0i64, 0i64, 0i64);
    for r in rows {
        let refund = r.kind == BillKind::Refund;
        let (state, refund_fen) = if refund {
            ("REFUND", r.refund_fen)
        } else {
            ("SUCCESS", 0)
        };
        if refund {
            refunded += r.refund_fen;
        } else {
            paid += r.amount_fen;
            ordered += r.amount_fen;
        }
        fees += r.fee_fen;
        let fields = [
            local_time(r.at),
            r.appid.clone(),
            r.mchid.clone(),
            "0".into(),
            r.device_id.clone(),
            r.transaction_id.clone(),
            r.out_trade_no.clone(),
            r.openid.clone(),
            r.trade_type.clone(),
            state.into(),
            "OTHERS".into(),
            "CNY".into(),
            fen_to_yuan(if refund { 0 } else { r.amount_fen }),
            "0.00".into(),
            if refund {
                r.refund_id.clone()
            } else {
                "0".into()
            },
            if refund {
                r.out_refund_no.clone()
            } else {
                "0".into()
            },
            fen_to_yuan(refund_fen),
            "0.00".into(),
            if refund {
                "ORIGINAL".into()
            } else {
                String::new()
            },
            if refund {
                "SUCCESS".into()
            } else {
                String::new()
            },
            r.description.clone(),
            r.attach.clone(),
            fen_to_yuan(r.fee_fen),
            "0.60%".into(),
            fen_to_yuan(r.amount_fen),
            fen_to_yuan(refund_fen),
            String::new(),
        ];
        let line: Vec<String> = fields.iter().map(|f| tick(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out.push_str(ALL_SUMMARY_HEADER);
    out.push_str("\r\n");
    let summary = [
        rows.len().to_string(),
        fen_to_yuan(paid),
        fen_to_yuan(refunded),
        "0.00".into(),
        fen_to_yuan(fees),
        fen_to_yuan(ordered),
        fen_to_yuan(refunded),
    ];
    let line: Vec<String> = summary.iter().map(|f| tick(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
    out
}

fn malformed(detail: String) -> PayError {
    PayError::Malformed {
        provider: PROVIDER,
        detail,
    }
}

/// Parses an `ALL` (or `SUCCESS` / `REFUND`) bill into records: columns are
/// found by their header names; the detail rows end at the summary header.
pub fn parse_trade_bill(text: &str) -> Result<Vec<BillRecord>, PayError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(malformed(format!("bill header: {e}"))),
        None => return Err(malformed("empty bill".into())),
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| malformed(format!("bill has no column {name}")))
    };
    let c_time = col("交易时间")?;
    let c_tx = col("微信订单号")?;
    let c_out = col("商户订单号")?;
    let c_state = col("交易状态")?;
    let c_amount = col("应结订单金额").or_else(|_| col("订单金额"))?;
    let c_fee = col("手续费")?;
    let c_refund = col("退款金额").ok();
    let mut out = Vec::new();
    for (i, rec) in records.enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| malformed(format!("bill line {line}: {e}")))?;
        let first = rec.get(0).unwrap_or("").trim();
        if first == "总交易单数" {
            break;
        }
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |c: usize| -> Result<&str, PayError> {
            rec.get(c)
                .map(|v| v.trim().trim_start_matches('`').trim())
                .ok_or_else(|| malformed(format!("bill line {line}: too few columns")))
        };
        let money = |c: usize, what: &str| -> Result<i64, PayError> {
            let v = get(c)?;
            signed_yuan_to_fen(v)
                .ok_or_else(|| malformed(format!("bill line {line}: bad {what} {v:?}")))
        };
        let at_text = get(c_time)?;
        let at = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", at_text)
            .ok()
            .and_then(|d| {
                d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                    .ok()
            })
            .map(|z| z.timestamp().as_second())
            .ok_or_else(|| malformed(format!("bill line {line}: bad time {at_text:?}")))?;
        let (kind, amount_fen) = match get(c_state)? {
            "SUCCESS" => (BillKind::Payment, money(c_amount, "amount")?),
            "REFUND" => {
                let c = c_refund
                    .ok_or_else(|| malformed("refund row but no 退款金额 column".into()))?;
                (BillKind::Refund, money(c, "refund amount")?.abs())
            }
            other => {
                return Err(malformed(format!(
                    "bill line {line}: unknown 交易状态 {other:?}"
                )));
            }
        };
        out.push(BillRecord {
            transaction_id: get(c_tx)?.to_string(),
            out_trade_no: get(c_out)?.to_string(),
            kind,
            amount_fen,
            fee_fen: money(c_fee, "fee")?,
            at,
        });
    }
    Ok(out)
}

/// Hex SHA-1 of a bill (what `hash_value` states).
pub fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(bytes))
}
