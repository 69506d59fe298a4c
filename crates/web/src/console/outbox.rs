//! The message outbox: what waits to be sent, codes redacted.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, at_local};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use doorstep_app::{App, AppError};
use doorstep_domain::Lang;
use maud::html;
use serde::Deserialize;

/// Outbox routes.
pub fn router() -> Router<App> {
    Router::new().route("/console/outbox", get(outbox_page))
}

#[derive(Deserialize, Default)]
struct OutboxQuery {
    #[serde(default)]
    recipient: String,
    ok: Option<String>,
    err: Option<String>,
}

fn kind_name(l: Lang, kind: &str) -> String {
    match kind {
        "code" => l.pick("验证码", "sign-in code").into(),
        "reminder" => l.pick("上门提醒", "reminder").into(),
        "booking" => l.pick("预约通知", "booking").into(),
        "cancel" => l.pick("取消通知", "cancellation").into(),
        other => other.to_string(),
    }
}

async fn outbox_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Query(p): Query<OutboxQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let list = app.outbox(&cu.user, Some(p.recipient.as_str()), 100).await?;
        let estates = app.store.list_estates(cu.user.company_id).await?;
        let now = doorstep_app::now();
        let when = |estate: Option<i64>, at: i64| match estates.iter().find(|e| Some(e.id) == estate) {
            Some(e) => at_local(e, at),
            None => jiff::Timestamp::from_second(at).map(|t| t.to_string()).unwrap_or_default(),
        };
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, l.pick("消息发件箱", "Message outbox"), Some(&cu.user), None, &flash, html! {
            p.muted { (l.pick("发给业主的短信（最新在前）。登录验证码只发到业主手机，这里始终隐藏。", "Messages to owners (newest first). Sign-in codes go only to the owner's phone and are always hidden here.")) }
            form.row method="get" {
                label { (l.pick("收件人（手机号）", "Recipient (phone)")) input name="recipient" type="tel" inputmode="tel" value=(p.recipient); }
                button type="submit" { (l.pick("筛选", "Filter")) }
                @if !p.recipient.is_empty() { a href="/console/outbox" { (l.pick("全部", "All")) } }
            }
            @if list.is_empty() {
                p #outbox-empty { (l.pick("没有消息。", "No messages.")) }
            } @else {
                ul.msgs #outbox {
                    @for m in &list {
                        li.msg data-kind=(m.kind) {
                            p.muted {
                                (when(m.estate_id, m.created_at)) " · " (m.channel) " · " (kind_name(l, &m.kind)) " · "
                                @if let Some(at) = m.cancelled_at { (l.pick("已撤回 ", "withdrawn ")) (when(m.estate_id, at)) }
                                @else if let Some(at) = m.sent_at { (l.pick("已发送 ", "sent ")) (when(m.estate_id, at)) }
                                @else if m.due_at > now { (l.pick("待发送 ", "due ")) (when(m.estate_id, m.due_at)) }
                                @else { (l.pick("待发送", "queued")) }
                            }
                            p { (l.pick("收件人：", "To: ")) b { (m.recipient) } }
                            p { (m.body) }
                        }
                    }
                }
            }
        }))
    }
    .await;
    render(l, r)
}
