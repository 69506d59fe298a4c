//! PostgreSQL only (SQLite's one writer holds the whole database): a
//! company's payments do not queue behind each other on the rows they all
//! used to write (issue 14). Another connection holds those rows locked
//! while a payment, its receipt and its evidence record commit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_store::Store;
use sqlx::Connection;
use std::sync::Arc;

fn url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_do_not_wait_on_shared_rows() {
    let schema = format!(
        "seq_{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    let store = match doorstep_store_postgres::open(&url(), Some(&schema)).await {
        Ok(s) => s,
        Err(e) => {
            if std::env::var_os("CI").is_some() || std::env::var_os("DOORSTEP_REQUIRE_PG").is_some()
            {
                panic!(
                    "PostgreSQL is required here but unreachable at {}: {e}",
                    url()
                );
            }
            eprintln!("SKIPPED: PostgreSQL not reachable ({e})");
            return;
        }
    };
    let s: Arc<dyn Store> = Arc::new(store);
    let held_schema = schema.clone();
    let hold: doorstep_store::conformance::Holder = Box::new(move |company, estate| {
        Box::pin(async move {
            let mut c = sqlx::PgConnection::connect(&url()).await.unwrap();
            sqlx::query(&format!("SET search_path TO \"{held_schema}\""))
                .execute(&mut c)
                .await
                .unwrap();
            sqlx::query("BEGIN").execute(&mut c).await.unwrap();
            for (sql, id) in [
                (
                    "SELECT 1 FROM receipt_counters WHERE company_id = $1 FOR UPDATE",
                    company,
                ),
                (
                    "SELECT 1 FROM evidence_logs WHERE company_id = $1 FOR UPDATE",
                    company,
                ),
                (
                    "SELECT 1 FROM report_due_t WHERE estate_id = $1 FOR UPDATE",
                    estate,
                ),
                (
                    "SELECT 1 FROM report_paid_t WHERE estate_id = $1 FOR UPDATE",
                    estate,
                ),
                (
                    "SELECT 1 FROM ledger_balances_t WHERE estate_id = $1 FOR UPDATE",
                    estate,
                ),
            ] {
                let n = sqlx::query(sql)
                    .bind(id)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .len();
                assert!(n > 0, "nothing to hold: {sql}");
            }
            Box::new(c) as Box<dyn std::any::Any + Send>
        })
    });
    doorstep_store::conformance::payments_do_not_wait_on_shared_rows(s, hold).await;
    if let Ok(mut c) = sqlx::PgConnection::connect(&url()).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut c)
            .await;
    }
}
