//! The shared conformance suite against a real SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_store::Store;
use std::sync::Arc;

async fn fresh() -> Option<Arc<dyn Store>> {
    // The directory must outlive the store: leak it for the test's lifetime.
    let dir = tempfile::tempdir().ok()?.keep();
    let store = doorstep_store_sqlite::open(&dir.join("doorstep.sqlite"))
        .await
        .expect("open sqlite");
    Some(Arc::new(store))
}

doorstep_store::conformance_tests!(fresh().await);
