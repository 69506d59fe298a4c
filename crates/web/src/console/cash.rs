//! Finance's side of collecting: cash held by collectors with alerts,
//! shifts waiting for a blind count, voids and refunds to approve,
//! reconciliation with the providers' bill files, the ledger check, the
//! daily close, and the providers' notifications.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, at_local, done};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::{Fen, Lang, Permission};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/cash", get(cash_page))
        .route("/console/{code}/cash/handover", post(handover))
        .route("/console/{code}/cash/difference", post(approve_difference))
        .route("/console/{code}/cash/reversal", post(decide))
        .route("/console/{code}/cash/reconcile", post(reconcile))
        .route("/console/{code}/cash/close-day", post(close_day))
}

fn status_zh(l: Lang, s: &str) -> &'static str {
    match s {
        "open" => l.pick("进行中", "open"),
        "closed" => l.pick("待交接", "waiting for handover"),
        "handed_over" => l.pick("已交接", "handed over"),
        "requested" => l.pick("待审批", "waiting for approval"),
        "approved" => l.pick("已批准，退款处理中", "approved, refund in progress"),
        "rejected" => l.pick("已驳回", "rejected"),
        "done" => l.pick("已完成", "done"),
        "failed" => l.pick("失败", "failed"),
        _ => l.pick("其他", "other"),
    }
}

async fn cash_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (estate, cash) = app.cash_status(&cu.user, &code).await?;
        let (_, reversals) = app.reversals(&cu.user, &code).await?;
        let ledger = doorstep_app::custody::ledger_report(&app, Some(estate.id)).await?;
        let merchants = app.store.merchants(estate.company_id).await?;
        let events = app.store.provider_events(None, 30).await?;
        let day = today(&estate);
        let body = html! {
            section {
                h2 { (l.pick("收费员手上现金", "Cash held by collectors")) }
                @if cash.holdings.is_empty() {
                    p { (l.pick("没有未交接的现金。", "No cash waiting to be handed over.")) }
                } @else {
                    table {
                        thead { tr { th { (l.pick("收费员", "Collector")) } th { (l.pick("金额", "Amount")) } th { (l.pick("最早一笔", "Oldest")) } } }
                        tbody {
                            @for h in &cash.holdings {
                                tr {
                                    td { (h.name) }
                                    td.num { (h.amount) }
                                    td { (h.oldest_at.map(|t| at_local(&estate, t)).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
                @for (who, what) in &cash.alerts {
                    p.err role="alert" { (l.pick("提醒：", "Alert: ")) (who) " — " (what) }
                }
            }
            section {
                h2 { (l.pick("待交接的班次（盲点）", "Shifts waiting for a blind count")) }
                p.hint { (l.pick("请先点清现金再填写金额；系统应收金额在提交后才显示。", "Count the cash first; the expected amount is shown only after you submit.")) }
                @if cash.pending.is_empty() { p { (l.pick("没有。", "None.")) } }
                @for s in &cash.pending {
                    form.card method="post" action={"/console/" (code) "/cash/handover"} {
                        input type="hidden" name="shift" value=(s.id);
                        p { strong { (s.collector_name) } " · " (at_local(&estate, s.opened_at)) " – " (s.closed_at.map(|t| at_local(&estate, t)).unwrap_or_default()) }
                        label { (l.pick("清点金额（元）", "Counted (yuan)")) input name="counted" inputmode="decimal" required; }
                        label { (l.pick("差额原因（与应交金额不符时必填）", "Reason for a difference (required when the count differs)")) input name="reason" maxlength="200"; }
                        button type="submit" { (l.pick("提交交接", "Record handover")) }
                    }
                }
                @if !cash.open.is_empty() {
                    p { (l.pick("进行中的班次：", "Open shifts: "))
                        @for s in &cash.open { span { (s.collector_name) " " } } }
                }
                h3 { (l.pick("待审批的交接差额", "Handover differences waiting for approval")) }
                p.hint { (l.pick("差额先记入待处理财产损溢；收费员确认（或提出异议）后，由清点人和收费员以外的财务审批，转入长短款。",
                    "A difference waits in suspense; once the collector has acknowledged (or disputed) it, a finance user who neither counted nor collected approves it into over/short.")) }
                @if cash.differences.is_empty() { p #differences-none { (l.pick("没有。", "None.")) } }
                @else {
                    table #differences {
                        thead { tr {
                            th { (l.pick("收费员", "Collector")) } th { (l.pick("应交", "Expected")) } th { (l.pick("实点", "Counted")) }
                            th { (l.pick("差额", "Difference")) } th { (l.pick("原因", "Reason")) } th { (l.pick("收费员确认", "Collector's answer")) } th {}
                        } }
                        tbody {
                            @for d in &cash.differences {
                                tr {
                                    td { (d.collector_name) }
                                    td.num { (d.expected) }
                                    td.num { (d.counted) }
                                    td.num { strong { (d.difference()) } @if d.offset.0 > 0 { " " span.muted { (l.pick("（作废已冲 ", "(voids explained ")) (d.offset) (l.pick("）", ")")) } } }
                                    td { (d.reason) }
                                    td { @match d.response.as_deref() {
                                        None => span.warn { (l.pick("待确认", "not yet")) },
                                        Some("dispute") => strong.warn { (l.pick("有异议：", "disputed: ")) (d.response_note) },
                                        Some(_) => { (l.pick("已确认", "acknowledged")) @if !d.response_note.is_empty() { " — " (d.response_note) } },
                                    } }
                                    td {
                                        @if d.response.is_some() && d.counted_by != cu.user.id && d.collector_id != cu.user.id && cu.user.role.allows(Permission::Treasury) {
                                            form method="post" action={"/console/" (code) "/cash/difference"} {
                                                input type="hidden" name="shift" value=(d.shift_id);
                                                button type="submit" { (l.pick("审批", "Approve")) }
                                            }
                                        } @else if d.response.is_some() {
                                            span.muted { (l.pick("须由清点人和收费员以外的财务审批", "another finance user approves")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !cash.recent.is_empty() {
                    h3 { (l.pick("最近交接", "Recent handovers")) }
                    table {
                        thead { tr { th { (l.pick("收费员", "Collector")) } th { (l.pick("应收", "Expected")) } th { (l.pick("实点", "Counted")) } th { (l.pick("差额", "Difference")) } th { (l.pick("时间", "When")) } } }
                        tbody {
                            @for s in &cash.recent {
                                tr {
                                    td { (s.collector_name) }
                                    td.num { (s.expected.map(|f| f.to_string()).unwrap_or_default()) }
                                    td.num { (s.counted.map(|f| f.to_string()).unwrap_or_default()) }
                                    td.num { @match s.difference() { Some(d) if d.0 != 0 => strong { (d) }, Some(d) => (d), None => "" } }
                                    td { (s.handed_over_at.map(|t| at_local(&estate, t)).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (l.pick("作废与退款", "Voids and refunds")) }
                @if reversals.is_empty() { p { (l.pick("没有。", "None.")) } }
                @else {
                    table {
                        thead { tr { th { "#" } th { (l.pick("收款", "Payment")) } th { (l.pick("类型", "Kind")) } th { (l.pick("原因", "Reason")) } th { (l.pick("状态", "Status")) } th {} } }
                        tbody {
                            @for r in &reversals {
                                tr {
                                    td { (r.id) }
                                    td { (r.payment_id) }
                                    td { (if r.kind == "void" { l.pick("作废", "void") } else { l.pick("退款", "refund") }) }
                                    td { (r.reason) }
                                    td { (status_zh(l, &r.status)) @if !r.detail.is_empty() { " · " (r.detail) } }
                                    td {
                                        @if r.status == "requested" && cu.user.role.allows(Permission::Treasury) {
                                            form method="post" action={"/console/" (code) "/cash/reversal"} {
                                                input type="hidden" name="id" value=(r.id);
                                                button name="approve" value="true" type="submit" { (l.pick("批准", "Approve")) }
                                                button name="approve" value="false" type="submit" { (l.pick("驳回", "Reject")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !cash.recollections.is_empty() {
                section {
                    h2 { (l.pick("作废待重收", "Voided – to collect again")) }
                    table #recollections {
                        thead { tr { th { (l.pick("作废/退款单", "Void/refund")) } th { (l.pick("收款", "Payment")) } th { (l.pick("金额", "Amount")) } th { (l.pick("仍欠", "Still owed")) } th { (l.pick("预约", "Booking")) } th { (l.pick("已通知业主", "Owners told")) } th { (l.pick("时间", "When")) } } }
                        tbody {
                            @for r in &cash.recollections {
                                tr {
                                    td { "#" (r.reversal_id) }
                                    td { (r.payment_id) }
                                    td.num { (r.amount) }
                                    td.num { strong { (r.still_owed) } }
                                    td { @if let Some(b) = r.booking_id { a href={"/console/" (code) "/bookings/" (b)} { "#" (b) } } }
                                    td { (r.owners_told) }
                                    td { (at_local(&estate, r.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (l.pick("对账", "Reconciliation")) }
                form method="post" action={"/console/" (code) "/cash/reconcile"} {
                    label { (l.pick("渠道", "Provider"))
                        select name="provider" { option value="wechat" { (l.pick("微信支付", "WeChat Pay")) } option value="alipay" { (l.pick("支付宝", "Alipay")) } } }
                    label { (l.pick("日期", "Date")) input type="date" name="date" value=(day) required; }
                    button type="submit" { (l.pick("下载账单并对账", "Fetch the bill and reconcile")) }
                }
                @for m in &merchants {
                    @let runs = app.store.reconciliations(m.id).await.unwrap_or_default();
                    @if let Some(run) = runs.first() {
                        h3 { (m.provider) " " (m.merchant_id) " · " (run.bill_date) }
                        p { (l.pick("一致 ", "Matched ")) (run.matched) (l.pick(" 笔，金额 ", ", total ")) (run.matched_fen) }
                        @if run.items.is_empty() { p.ok { (l.pick("没有差异。", "No differences.")) } }
                        @else {
                            table {
                                thead { tr { th { (l.pick("差异", "Difference")) } th { (l.pick("商户订单号", "Order")) } th { (l.pick("渠道流水号", "Transaction")) } th { (l.pick("我方", "Ours")) } th { (l.pick("账单", "Bill")) } } }
                                tbody {
                                    @for i in &run.items {
                                        tr {
                                            td { (match i.kind.as_str() { "missing" => l.pick("账单中没有", "missing from the bill"), "extra" => l.pick("我方没有记录", "not in our records"), _ => l.pick("金额不一致", "amount differs") }) }
                                            td { (i.out_trade_no) }
                                            td { (i.transaction_id) }
                                            td.num { (i.ours.map(|f| f.to_string()).unwrap_or_default()) }
                                            td.num { (i.theirs.map(|f| f.to_string()).unwrap_or_default()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (l.pick("账目核对", "Ledger check")) }
                p { (ledger.entries) (l.pick(" 笔分录，", " entries, ")) (ledger.payments) (l.pick(" 笔收款，", " payments, ")) (ledger.receivables) (l.pick(" 个应收科目", " receivables")) }
                @if ledger.ok() { p.ok { (l.pick("借贷平衡，应收与账单一致。", "Every entry balances; receivables match the bills.")) } }
                @for p in &ledger.problems { p.err { (p) } }
                @if !ledger.open.is_empty() {
                    h3 { (l.pick("尚未了结的现金事项", "Cash custody items still open")) }
                    ul #open-custody { @for o in &ledger.open { li { (o) } } }
                }
                form method="post" action={"/console/" (code) "/cash/close-day"} {
                    label { (l.pick("日结日期", "Day to close")) input type="date" name="date" value=(day); }
                    button type="submit" { (l.pick("日结", "Close the day")) }
                }
            }
            section {
                h2 { (l.pick("收款账户", "Merchant accounts")) }
                @if merchants.is_empty() { p { (l.pick("未设置：用 doorstep merchant set 添加。", "None: add with `doorstep merchant set`.")) } }
                ul { @for m in &merchants { li {
                    (m.provider) " · " (m.merchant_id) " · " (m.app_id)
                    @if let Some(c) = doorstep_app::pay::cert_warning(m, doorstep_app::now()) {
                        " " strong.warn {
                            (l.pick("平台证书", "Platform certificate")) " " (c.serial) " "
                            (l.pick("将于", "expires on ")) (c.date)
                            (l.pick("到期，请下载新证书后重新设置。", "; download the new one and set the account again."))
                        }
                    }
                } } }
                h3 { (l.pick("最近的支付通知", "Recent payment notifications")) }
                table {
                    thead { tr { th { (l.pick("渠道", "Provider")) } th { (l.pick("订单", "Order")) } th { (l.pick("结果", "Result")) } th { (l.pick("说明", "Detail")) } th { (l.pick("时间", "When")) } } }
                    tbody {
                        @for (provider, _, no, verdict, detail, at) in &events {
                            tr { td { (provider) } td { (no.clone().unwrap_or_default()) } td { (verdict) } td { (detail) } td { (at_local(&estate, *at)) } }
                        }
                    }
                }
            }
        };
        Ok::<Markup, AppError>(page(
            l,
            l.pick("现金与对账", "Cash and reconciliation"),
            Some(&cu.user),
            Some(&code),
            &flash,
            body,
        ))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct HandoverForm {
    shift: i64,
    counted: String,
    #[serde(default)]
    reason: String,
}

async fn handover(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<HandoverForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let s = app
            .submit_handover(&cu.user, f.shift, &f.counted, &f.reason)
            .await?;
        let d = s.difference().unwrap_or(Fen::ZERO);
        Ok(if d.0 == 0 {
            format!(
                "{}{}",
                l.pick("交接完成，金额一致：", "Handed over, exact: "),
                s.counted.unwrap_or(Fen::ZERO)
            )
        } else {
            format!(
                "{}{} / {} {}{}",
                l.pick("现金已入库。应交 ", "Cash taken into the safe. Expected "),
                s.expected.unwrap_or(Fen::ZERO),
                s.counted.unwrap_or(Fen::ZERO),
                format_args!("{}{d}", l.pick("，差额 ", ", difference ")),
                l.pick(
                    "，待收费员确认后由另一位财务审批",
                    ", pending: the collector acknowledges, then another finance user approves"
                ),
            )
        })
    }
    .await;
    done(&format!("/console/{code}/cash"), l, r)
}

#[derive(Deserialize)]
struct DifferenceForm {
    shift: i64,
}

async fn approve_difference(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<DifferenceForm>,
) -> Response {
    let l = cu.lang;
    let r = app.approve_difference(&cu.user, f.shift).await.map(|d| {
        format!(
            "{}{}",
            l.pick(
                "差额已审批，转入长短款：",
                "Difference approved into over/short: "
            ),
            d.difference()
        )
    });
    done(&format!("/console/{code}/cash"), l, r)
}

#[derive(Deserialize)]
struct DecideForm {
    id: i64,
    approve: bool,
}

async fn decide(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    let l = cu.lang;
    let r = app
        .decide_reversal(&cu.user, f.id, f.approve)
        .await
        .map(|r| format!("#{}: {}", r.id, status_zh(l, &r.status)));
    done(&format!("/console/{code}/cash"), l, r)
}

#[derive(Deserialize)]
struct ReconcileForm {
    provider: String,
    date: String,
}

async fn reconcile(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<ReconcileForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let date = parse_date("date", &f.date)?;
        let rec = app.reconcile(&cu.user, &code, &f.provider, date).await?;
        Ok(format!(
            "{}{} · {} {}",
            l.pick("对账完成：一致 ", "Reconciled: matched "),
            rec.matched,
            rec.items.len(),
            l.pick("处差异", "differences")
        ))
    }
    .await;
    done(&format!("/console/{code}/cash"), l, r)
}

#[derive(Deserialize)]
struct DayForm {
    date: String,
}

async fn close_day(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<DayForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let date = parse_date("date", &f.date)?;
        // Each open item is named so finance knows what to clear first.
        app.daily_close(&cu.user, &code, Some(date))
            .await
            .map_err(|e| match e {
                AppError::Conflict(m) => AppError::Conflict(format!(
                    "{}{m}",
                    l.pick("未能日结，请先处理：", "Cannot close the day yet: ")
                )),
                other => other,
            })?;
        Ok(format!("{}{date}", l.pick("已日结：", "Closed: ")))
    }
    .await;
    done(&format!("/console/{code}/cash"), l, r)
}
