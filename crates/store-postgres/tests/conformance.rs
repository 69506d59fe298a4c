//! The shared conformance suite against a real PostgreSQL server, one fresh
//! schema per test. Skipped (with a note) when no server answers, unless
//! `CI` or `DOORSTEP_REQUIRE_PG` is set, in which case that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_store::Store;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

fn url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static N: AtomicU32 = AtomicU32::new(0);

static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops schemas that earlier runs left behind (older than an hour).
async fn clean_old_schemas() {
    let Ok(pool) = sqlx::PgPool::connect(&url()).await else {
        return;
    };
    let cutoff = jiff::Timestamp::now().as_millisecond() - 3_600_000;
    let names: Vec<String> = sqlx::query_scalar("SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'conf\\_%'")
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
    for n in names {
        let old = n
            .rsplit('_')
            .next()
            .and_then(|ms| ms.parse::<i64>().ok())
            .is_some_and(|ms| ms < cutoff);
        if old {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{n}\" CASCADE"))
                .execute(&pool)
                .await;
        }
    }
    pool.close().await;
}

static REACHABLE: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// One quick connection attempt per run, so a machine without PostgreSQL
/// skips at once instead of waiting out the pool's timeouts in every test.
async fn reachable() -> Result<(), String> {
    use sqlx::Connection;
    match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(&url()),
    )
    .await
    {
        Ok(Ok(c)) => {
            let _ = c.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".into()),
    }
}

async fn fresh() -> Option<Arc<dyn Store>> {
    if let Err(e) = REACHABLE.get_or_init(reachable).await {
        if std::env::var_os("CI").is_some() || std::env::var_os("DOORSTEP_REQUIRE_PG").is_some() {
            panic!(
                "PostgreSQL is required here (CI or DOORSTEP_REQUIRE_PG) but unreachable at {}: {e}",
                url()
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: PostgreSQL conformance suite ({e}); start PostgreSQL at 127.0.0.1:5432 or set DOORSTEP_TEST_PG_URL to enable it"
        );
        return None;
    }
    CLEANED.get_or_init(clean_old_schemas).await;
    let schema = format!(
        "conf_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        jiff::Timestamp::now().as_millisecond()
    );
    match doorstep_store_postgres::open(&url(), Some(&schema)).await {
        Ok(s) => Some(Arc::new(s)),
        Err(e)
            if std::env::var_os("CI").is_none()
                && std::env::var_os("DOORSTEP_REQUIRE_PG").is_none() =>
        {
            eprintln!(
                "SKIPPED: PostgreSQL conformance suite ({e}); start PostgreSQL at 127.0.0.1:5432 or set DOORSTEP_TEST_PG_URL to enable it"
            );
            None
        }
        Err(e) => panic!(
            "PostgreSQL is required here (CI or DOORSTEP_REQUIRE_PG) but unreachable at {}: {e}",
            url()
        ),
    }
}

doorstep_store::conformance_tests!(fresh().await);
