//! Delivering the outbox: SMS and WeChat template messages go out through a
//! [`Gateway`] per channel. With none configured messages stay in the
//! outbox, where staff and `doorstep outbox` read them, except sign-in
//! codes: listings show those redacted, and a sent code's text is
//! forgotten.
//!
//! Each message is claimed in the database before it is sent, so several
//! server instances never send one twice; a failed send is given back and
//! retried on the next round.

use crate::{App, AppResult, now};
use async_trait::async_trait;
use serde::Serialize;

/// Something that delivers messages of one channel (an SMS provider's API,
/// WeChat template messages …).
#[async_trait]
pub trait Gateway: Send + Sync {
    /// The channel it delivers: `sms` or `wechat`.
    fn channel(&self) -> &'static str;
    /// Sends one message; the error says why it failed.
    async fn send(&self, recipient: &str, body: &str) -> Result<(), String>;
}

/// What a delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Messages sent.
    pub sent: u64,
    /// Messages that failed and will be retried.
    pub failed: u64,
}

impl App {
    /// Sends every due message whose channel has a gateway.
    pub async fn deliver_due(&self) -> AppResult<Delivery> {
        let mut out = Delivery::default();
        if self.gateways.is_empty() {
            return Ok(out);
        }
        for m in self.store.due_messages(now(), 200).await? {
            let Some(g) = self.gateways.iter().find(|g| g.channel() == m.channel) else {
                continue;
            };
            if !self.store.claim_message(m.id, now()).await? {
                continue;
            }
            match g.send(&m.recipient, &m.body).await {
                Ok(()) => {
                    // A sign-in code's text was needed only to send it.
                    if m.kind == "code" {
                        self.store.redact_sent_code(m.id).await?;
                    }
                    out.sent += 1;
                }
                Err(why) => {
                    tracing::warn!(message = m.id, channel = %m.channel, error = %why, "send failed; will retry");
                    self.store.release_message(m.id).await?;
                    out.failed += 1;
                }
            }
        }
        Ok(out)
    }
}

/// The demo's phone: prints each SMS on the terminal that runs the server,
/// as a phone would show it. It stands in for an SMS provider in the demo
/// only; staff never see sign-in codes in the outbox.
pub struct TerminalPhone;

#[async_trait]
impl Gateway for TerminalPhone {
    fn channel(&self) -> &'static str {
        "sms"
    }
    async fn send(&self, recipient: &str, body: &str) -> Result<(), String> {
        use std::io::Write;
        let line = format!("  [demo SMS to {}] {body}\n", crate::owner::mask(recipient));
        std::io::stdout()
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())
    }
}
