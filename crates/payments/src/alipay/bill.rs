//! The trade bill (`bill_type=trade`): a ZIP whose member
//! `<pid>_<yyyyMMdd>_业务明细.csv` is GBK-encoded CSV with `#` comment lines
//! above and below a header row, one row per payment (`交易`) or refund
//! (`退款`). A second member, `…_业务明细(汇总).csv`, sums it up.

use super::gateway::{PROVIDER, beijing_time, parse_beijing_time};
use crate::{BillKind, BillRecord, PayError, fen_to_yuan, yuan_to_fen};
use std::io::{Cursor, Read, Write};

/// The header row of the detail file.
pub const HEADER: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

/// One row to render (the simulator's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRow {
    /// The payment or refund. For a refund `amount_fen` is the refunded
    /// amount (rendered negative under 商家实收).
    pub record: BillRecord,
    /// 商品名称 (subject).
    pub subject: String,
    /// 订单金额: the order's amount, fen.
    pub order_fen: i64,
    /// 创建时间 (unix seconds).
    pub created_at: i64,
    /// 门店编号.
    pub store_id: String,
    /// 退款批次号/请求号 (refunds).
    pub out_request_no: String,
    /// 对方账户 (masked buyer account).
    pub buyer: String,
}

fn bill_error(detail: impl Into<String>) -> PayError {
    PayError::Malformed {
        provider: PROVIDER,
        detail: detail.into(),
    }
}

fn csv_line(fields: &[String]) -> Result<String, PayError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(fields)
        .map_err(|e| bill_error(e.to_string()))?;
    let bytes = w.into_inner().map_err(|e| bill_error(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| bill_error(e.to_string()))
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

/// Renders the day's trade bill for merchant `pid` (the 2088… partner id) as
/// Alipay serves it: a ZIP with the GBK detail CSV and its summary. `date` is
/// `YYYY-MM-DD`.
pub fn render_trade_bill(
    pid: &str,
    date: &str,
    rows: &[TradeBillRow],
) -> Result<Vec<u8>, PayError> {
    let compact: String = date.chars().filter(|c| c.is_ascii_digit()).collect();
    let (y, m, d) = (
        date.get(0..4).unwrap_or(""),
        date.get(5..7).unwrap_or(""),
        date.get(8..10).unwrap_or(""),
    );
    let mut text = String::new();
    text.push_str("#支付宝业务明细查询\r\n");
    text.push_str(&format!("#账号：[{pid}0156]\r\n"));
    text.push_str(&format!(
        "#起始日期：[{y}年{m}月{d}日 00:00:00]   终止日期：[{y}年{m}月{d}日 23:59:59]\r\n"
    ));
    text.push_str("#-----------------------------------------业务明细列表----------------------------------------\r\n");
    let header: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
    text.push_str(&csv_line(&header)?);
    let (mut pay_n, mut pay_sum, mut ref_n, mut ref_sum) = (0, 0i64, 0, 0i64);
    for r in rows {
        let rec = &r.record;
        let (kind, received) = match rec.kind {
            BillKind::Payment => {
                pay_n += 1;
                pay_sum += rec.amount_fen;
                ("交易", rec.amount_fen)
            }
            BillKind::Refund => {
                ref_n += 1;
                ref_sum -= rec.amount_fen;
                ("退款", -rec.amount_fen)
            }
        };
        let fee = match rec.kind {
            BillKind::Payment => -rec.fee_fen,
            BillKind::Refund => rec.fee_fen,
        };
        let zero = "0.00".to_string();
        let fields = vec![
            format!("{}\t", rec.transaction_id),
            format!("{}\t", rec.out_trade_no),
            kind.to_string(),
            r.subject.clone(),
            beijing_time(r.created_at),
            beijing_time(rec.at),
            r.store_id.clone(),
            String::new(),
            String::new(),
            String::new(),
            r.buyer.clone(),
            fen_to_yuan(r.order_fen),
            fen_to_yuan(received),
            zero.clone(),
            zero.clone(),
            zero.clone(),
            zero.clone(),
            zero.clone(),
            String::new(),
            zero.clone(),
            zero.clone(),
            if r.out_request_no.is_empty() {
                String::new()
            } else {
                format!("{}\t", r.out_request_no)
            },
            fen_to_yuan(fee),
            zero,
            String::new(),
        ];
        text.push_str(&csv_line(&fields)?);
    }
    text.push_str("#-----------------------------------------业务明细列表结束------------------------------------\r\n");
    text.push_str(&format!(
        "#交易合计：{pay_n}笔，商家实收：{}元，商家优惠：0.00元\r\n",
        fen_to_yuan(pay_sum)
    ));
    text.push_str(&format!(
        "#退款合计：{ref_n}笔，商家实收：{}元，商家优惠：0.00元\r\n",
        fen_to_yuan(ref_sum)
    ));
    text.push_str(&format!("#导出时间：[{y}年{m}月{d}日 23:59:59]\r\n"));

    let mut summary = String::new();
    summary.push_str("#支付宝业务汇总查询\r\n");
    summary.push_str(&format!("#账号：[{pid}0156]\r\n"));
    summary.push_str(&csv_line(
        &[
            "门店编号",
            "门店名称",
            "交易订单总笔数",
            "退款订单总笔数",
            "订单金额（元）",
            "商家实收（元）",
        ]
        .map(String::from),
    )?);
    summary.push_str(&csv_line(&[
        "合计".to_string(),
        String::new(),
        pay_n.to_string(),
        ref_n.to_string(),
        fen_to_yuan(pay_sum),
        fen_to_yuan(pay_sum + ref_sum),
    ])?);
    summary.push_str("#结束\r\n");

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [
        (format!("{pid}_{compact}_业务明细.csv"), text),
        (format!("{pid}_{compact}_业务明细(汇总).csv"), summary),
    ] {
        zip.start_file(name, opts)
            .map_err(|e| bill_error(e.to_string()))?;
        zip.write_all(&gbk(&body))
            .map_err(|e| bill_error(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| bill_error(e.to_string()))?;
    Ok(cursor.into_inner())
}

/// A yuan amount that may carry a `-` (refund rows).
fn signed_fen(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix('-') {
        Some(rest) => yuan_to_fen(rest).map(|f| -f),
        None => yuan_to_fen(s),
    }
}

/// Parses the trade bill ZIP: finds the detail CSV (by its header row, so
/// GBK or UTF-8 member names both work), decodes it from GBK, skips the `#`
/// lines and reads each `交易` / `退款` row. Payments carry 订单金额, refunds
/// the absolute 商家实收; the fee is the absolute 服务费; the time is
/// 完成时间 (创建时间 if empty). Cells are trimmed (Alipay pads with tabs).
pub fn parse_trade_bill(zip_bytes: &[u8]) -> Result<Vec<BillRecord>, PayError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|e| bill_error(format!("not a zip: {e}")))?;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| bill_error(e.to_string()))?;
        let mut raw = Vec::new();
        file.read_to_end(&mut raw)
            .map_err(|e| bill_error(e.to_string()))?;
        let (text, _, _) = encoding_rs::GBK.decode(&raw);
        if let Some(records) = parse_detail_csv(&text)? {
            return Ok(records);
        }
    }
    Err(bill_error("no 业务明细 file in the zip"))
}

/// The records of a decoded detail CSV; `None` if `text` is not one.
fn parse_detail_csv(text: &str) -> Result<Option<Vec<BillRecord>>, PayError> {
    let body: String = text
        .split_inclusive('\n')
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut rows = reader.records();
    let header = match rows.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(bill_error(e.to_string())),
        None => return Ok(None),
    };
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let Some(c_trade) = col("支付宝交易号") else {
        return Ok(None);
    };
    let need = |name: &str| col(name).ok_or_else(|| bill_error(format!("no column {name}")));
    let c_out = need("商户订单号")?;
    let c_kind = need("业务类型")?;
    let c_created = need("创建时间")?;
    let c_done = need("完成时间")?;
    let c_order = need("订单金额（元）")?;
    let c_received = need("商家实收（元）")?;
    let c_fee = need("服务费（元）")?;
    let mut out = Vec::new();
    for (n, row) in rows.enumerate() {
        let row = row.map_err(|e| bill_error(e.to_string()))?;
        let cell = |c: usize| row.get(c).map(str::trim).unwrap_or("");
        let line = n + 2;
        let kind = match cell(c_kind) {
            "交易" => BillKind::Payment,
            "退款" => BillKind::Refund,
            _ => continue,
        };
        let amount = |c: usize| {
            signed_fen(cell(c)).ok_or_else(|| {
                bill_error(format!(
                    "row {line}: amount {:?} in column {}",
                    cell(c),
                    header.get(c).unwrap_or("")
                ))
            })
        };
        let amount_fen = match kind {
            BillKind::Payment => amount(c_order)?,
            BillKind::Refund => amount(c_received)?.abs(),
        };
        let fee_fen = if cell(c_fee).is_empty() {
            0
        } else {
            amount(c_fee)?.abs()
        };
        let time = if cell(c_done).is_empty() {
            cell(c_created)
        } else {
            cell(c_done)
        };
        let at = parse_beijing_time(time)
            .ok_or_else(|| bill_error(format!("row {line}: time {time:?}")))?;
        out.push(BillRecord {
            transaction_id: cell(c_trade).to_string(),
            out_trade_no: cell(c_out).to_string(),
            kind,
            amount_fen,
            fee_fen,
            at,
        });
    }
    Ok(Some(out))
}
