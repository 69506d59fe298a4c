//! Arrears as CSV and Excel, with the Chinese headers finance clerks use.

use crate::arrears::Arrears;
use crate::{AppError, AppResult};
use doorstep_domain::Category;
use rust_xlsxwriter::{Format, Workbook};
use std::borrow::Cow;

/// Makes a text cell inert in spreadsheet programs (OWASP "CSV injection"):
/// a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
/// read by Excel, WPS and LibreOffice as a formula when the CSV is opened, so
/// an owner named `=HYPERLINK(…)` or `+cmd|…` would run on a clerk's machine.
/// A leading `'` makes the program show the text as text.
///
/// Only for text: a number such as `-12.50` must stay a number, so callers
/// leave numeric columns alone. Excel workbooks need none of this, because
/// their text cells are typed as strings and never evaluated.
pub fn csv_text(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Column headers of arrears exports.
pub const HEADERS: [&str; 15] = [
    "房号/车位",
    "业主",
    "电话",
    "收费项目",
    "类别",
    "账期",
    "应缴日期",
    "应收金额(元)",
    "已收(元)",
    "欠费本金(元)",
    "逾期天数",
    "滞纳金(元)",
    "滞纳金计算",
    "合计欠费(元)",
    "状态",
];

/// Category names in Chinese.
pub fn category_zh(c: Category) -> &'static str {
    match c {
        Category::Property => "物业服务",
        Category::Parking => "车位",
        Category::OnBehalf => "代收代付",
        Category::Other => "其他",
    }
}

fn cells(a: &Arrears) -> Vec<[String; 15]> {
    a.rows
        .iter()
        .map(|r| {
            let status = if r.disputed {
                "争议中"
            } else if r.status == doorstep_store::LineStatus::PartlyPaid {
                "部分缴纳"
            } else {
                "未缴"
            };
            [
                r.object.clone(),
                r.owners.join("、"),
                r.phones.join(" "),
                r.fee_item.clone(),
                category_zh(r.category).to_string(),
                r.period.to_string(),
                r.due_date.to_string(),
                r.amount.yuan_string(),
                r.paid.yuan_string(),
                r.principal_owed.yuan_string(),
                r.days_overdue.to_string(),
                r.late_fee_owed.yuan_string(),
                r.late_fee_text.clone(),
                r.total_owed.yuan_string(),
                status.to_string(),
            ]
        })
        .collect()
}

/// CSV in UTF-8 with a byte-order mark, so Excel and WPS detect the encoding.
pub fn arrears_csv(a: &Arrears) -> AppResult<Vec<u8>> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let io = |e: csv::Error| AppError::Storage(format!("writing CSV: {e}"));
        w.write_record(HEADERS).map_err(io)?;
        for row in cells(a) {
            let safe = row.iter().enumerate().map(|(c, v)| {
                if is_numeric_col(c) {
                    Cow::Borrowed(v.as_str())
                } else {
                    csv_text(v)
                }
            });
            w.write_record(safe.map(|v| v.into_owned())).map_err(io)?;
        }
        w.write_record([
            "合计",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            &a.principal_owed.yuan_string(),
            "",
            &a.late_fee_owed.yuan_string(),
            "",
            &a.total_owed.yuan_string(),
            "",
        ])
        .map_err(io)?;
        w.flush()
            .map_err(|e| AppError::Storage(format!("writing CSV: {e}")))?;
    }
    Ok(out)
}

/// Money columns (index) written as numbers so Excel can sum them.
const MONEY_COLS: [usize; 5] = [7, 8, 9, 11, 13];
/// 逾期天数, a count.
const DAYS_COL: usize = 10;

/// Columns we compute as numbers; every other column may hold user text.
fn is_numeric_col(c: usize) -> bool {
    MONEY_COLS.contains(&c) || c == DAYS_COL
}

/// An .xlsx workbook with one sheet 欠费明细 and a totals row.
pub fn arrears_xlsx(a: &Arrears) -> AppResult<Vec<u8>> {
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Storage(format!("writing xlsx: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("欠费明细").map_err(x)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    sheet
        .write_string(0, 0, format!("{} 欠费明细（截至 {}）", a.estate, a.as_of))
        .map_err(x)?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(1, c as u16, *h, &bold)
            .map_err(x)?;
    }
    for (i, (r, text)) in a.rows.iter().zip(cells(a)).enumerate() {
        let row = (i + 2) as u32;
        for (c, v) in text.iter().enumerate() {
            if !is_numeric_col(c) {
                sheet.write_string(row, c as u16, v).map_err(x)?;
            }
        }
        sheet
            .write_number(row, DAYS_COL as u16, r.days_overdue as f64)
            .map_err(x)?;
        for (c, f) in [
            (7, r.amount),
            (8, r.paid),
            (9, r.principal_owed),
            (11, r.late_fee_owed),
            (13, r.total_owed),
        ] {
            sheet
                .write_number_with_format(row, c, f.yuan_f64(), &money)
                .map_err(x)?;
        }
    }
    let total_row = (a.rows.len() + 2) as u32;
    sheet
        .write_string_with_format(total_row, 0, "合计", &bold)
        .map_err(x)?;
    for (c, f) in [
        (9, a.principal_owed),
        (11, a.late_fee_owed),
        (13, a.total_owed),
    ] {
        sheet
            .write_number_with_format(total_row, c, f.yuan_f64(), &money)
            .map_err(x)?;
    }
    for (c, w) in [(0, 22.0), (1, 14.0), (2, 26.0), (3, 12.0), (12, 44.0)] {
        sheet.set_column_width(c, w).map_err(x)?;
    }
    sheet.set_freeze_panes(2, 0).map_err(x)?;
    wb.save_to_buffer().map_err(x)
}
