//! The shared conformance suite against a real PostgreSQL server, one fresh
//! schema per test. Skipped (with a note) when no server answers, unless
//! `CI` or `DOORSTEP_REQUIRE_PG` is set, in which case that is a failure.

use doorstep_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

fn url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static N: AtomicU32 = AtomicU32::new(0);

async fn fresh() -> Option<Arc<dyn Store>> {
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
