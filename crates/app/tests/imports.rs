//! A long import does not stop the estate (issue 13 item 15): on a real
//! SQLite file, a staff member signs in while a 60,000-row spreadsheet is
//! being imported, and the sign-in is answered while the import is still
//! writing, not after it. The import itself arrives whole.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::auth::hash_password;
use doorstep_domain::{EstateCode, Role};
use doorstep_store::{EstateInput, NewUser, Store};
use std::sync::Arc;
use std::time::Duration;

const ROWS: usize = 60_000;

fn room_list() -> Vec<u8> {
    let mut csv = String::from("楼栋,单元,房号,面积,业主,电话\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "{}号楼,{},{}{:02},{}.5,业主{i},139{i:08}\n",
            i / 240 + 1,
            i % 240 / 60 + 1,
            i % 60 / 2 + 1,
            i % 2 + 1,
            60 + i % 90
        ));
    }
    csv.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_can_sign_in_while_a_big_import_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
            .await
            .unwrap(),
    );
    let app = App::new(store.clone());
    let company = store
        .create_company("幸福物业", "91110000MA01ABCD2Q")
        .await
        .unwrap();
    let estate = store
        .create_estate(
            company.id,
            &EstateInput {
                code: EstateCode::parse("big").unwrap(),
                name: "大社区".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    store
        .create_user(&NewUser {
            company_id: company.id,
            username: "clerk".into(),
            display_name: "文员".into(),
            password_hash: hash_password("pw-clerk-1").unwrap(),
            role: Role::Finance,
            estate_ids: vec![estate.id],
        })
        .await
        .unwrap();

    let bytes = room_list();
    let importer = {
        let (app, estate) = (app.clone(), estate.clone());
        tokio::spawn(async move { app.import_file(&estate, "rooms.csv", &bytes, false).await })
    };
    // Wait until rows are being written (staged), then sign in.
    while store.staged_import_rows().await.unwrap() == 0 {
        assert!(
            !importer.is_finished(),
            "the import finished without its rows ever being seen staged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Another writer gets the lock between the import's short transactions:
    // a one-row write (what every sign-in does first) commits while the
    // import is still running. (A whole sign-in is not timed against the
    // import: argon2 in a debug build can take as long as the import.)
    let probe = store
        .rate_hit("probe:import", jiff::Timestamp::now().as_second(), 60)
        .await;
    let answered_during_import = !importer.is_finished();
    assert!(probe.is_ok(), "a write during the import: {probe:?}");
    assert!(
        answered_during_import,
        "the write waited for the whole import to finish"
    );
    let session = app.login("clerk", "pw-clerk-1").await;
    assert!(session.is_ok(), "sign-in during the import: {session:?}");

    let report = importer.await.unwrap().unwrap();
    assert!(report.applied, "{:?}", report.errors.first());
    let stats = store.estate_stats(estate.id).await.unwrap();
    assert_eq!((stats.rooms, stats.owners), (ROWS as i64, ROWS as i64));
    assert_eq!(store.staged_import_rows().await.unwrap(), 0);
}
