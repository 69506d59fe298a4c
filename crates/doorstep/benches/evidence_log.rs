//! The evidence log at scale (issue 6): appending records to a company's
//! log in the database, producing inclusion and consistency proofs from the
//! stored tree, and storage per record; plus e-receipt PDFs per second.
//!
//! The log is filled with `--records` realistic payment records (~420 bytes
//! of RFC 8785 JSON each, like the ones a payment writes) in transactions of
//! `--batch` (the bulk path, `append_evidence_batch`). Then, at full size:
//! - **single appends**: `--singles` records appended one per transaction
//!   (`append_evidence`, what a check-in or signature does), median and p99;
//! - **inclusion proofs**: `--proofs` random leaves against the full tree:
//!   the nodes are found with a `Recorder`, read in one query, the proof
//!   computed and verified (what `getEvidenceProof` does), median and p99;
//! - **consistency proofs**: from a random earlier size to the full size;
//! - **storage**: SQLite file size (after a checkpoint of the WAL) or the
//!   PostgreSQL relation sizes of the log's tables, divided by the records.
//!
//! `pdf` renders a typical 4-line receipt in each layout (A4, A5, 80 mm).
//!
//! ```sh
//! cargo bench -p doorstep --bench evidence_log -- [--backend sqlite|postgres] \
//!     [--records 10000000] [--batch 2000] [--singles 300] [--proofs 1000] \
//!     [--pg URL] [--dir DIR] [--only log,pdf]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_domain::ObjectKind;
use doorstep_store::{NewEvidence, Store};
use std::sync::Arc;
use std::time::Instant;

struct Opts {
    backend: String,
    records: u64,
    batch: u64,
    singles: u64,
    proofs: u64,
    pg: String,
    dir: Option<String>,
    only: Vec<String>,
}

fn opts() -> Opts {
    let mut o = Opts {
        backend: "sqlite".into(),
        records: 10_000_000,
        batch: 2000,
        singles: 300,
        proofs: 1000,
        pg: std::env::var("DOORSTEP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        dir: None,
        only: vec!["log".into(), "pdf".into()],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--backend" => o.backend = v,
            "--records" => o.records = v.parse().unwrap(),
            "--batch" => o.batch = v.parse().unwrap(),
            "--singles" => o.singles = v.parse().unwrap(),
            "--proofs" => o.proofs = v.parse().unwrap(),
            "--pg" => o.pg = v,
            "--dir" => o.dir = Some(v),
            "--only" => o.only = v.split(',').map(str::to_string).collect(),
            "--bench" => {
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// A payment record like the ones receipts log (RFC 8785 bytes).
fn record(n: u64) -> NewEvidence {
    let v = serde_json::json!({
        "v": 1, "kind": "payment", "company": 1, "estate": 1 + n % 200,
        "payment": n, "booking": n / 2, "objects": [format!("room:{}", n % 50_000)],
        "breakdown": [
            {"line": n * 3, "category": "property", "item": "物业服务费", "period": "2026-11", "principal_fen": 22375, "late_fee_fen": 0},
            {"line": n * 3 + 1, "category": "parking", "item": "车位管理费", "period": "2026-11", "principal_fen": 15000, "late_fee_fen": 120}
        ],
        "advance_fen": 0, "amount_fen": 37495, "method": "wechat", "provider": "wechat",
        "transaction_id": format!("42000{:023}", n), "collector": 7,
        "receipt_number": n + 1, "receipt_sha256": format!("{:064x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        "paid_at": "2026-11-27T11:42:05Z",
    });
    NewEvidence {
        kind: "payment".into(),
        estate_id: None,
        booking_id: None,
        payment_id: None,
        objects: vec![(ObjectKind::Room, (n % 50_000) as i64)],
        data: doorstep_domain::jcs::to_vec(&v),
        at: 1_790_000_000 + n as i64,
    }
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Splitmix64, for reproducible random leaves.
fn rnd(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

async fn log_bench(o: &Opts) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = o
        .dir
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let file = dir.join("evidence-bench.sqlite");
    let _ = std::fs::remove_file(&file);
    let schema = format!("bench_evidence_{}", jiff::Timestamp::now().as_millisecond());
    let store: Arc<dyn Store> = if o.backend == "postgres" {
        Arc::new(
            doorstep_store_postgres::open(&o.pg, Some(&schema))
                .await
                .unwrap(),
        )
    } else {
        Arc::new(doorstep_store_sqlite::open(&file).await.unwrap())
    };
    let company = store
        .create_company("基准物业", "91350100M000100Y43")
        .await
        .unwrap()
        .id;
    println!(
        "evidence log on {}: {} records in transactions of {}",
        o.backend, o.records, o.batch
    );
    let t0 = Instant::now();
    let mut done = 0u64;
    let mut last_report = Instant::now();
    let mut bytes = 0u64;
    while done < o.records {
        let n = o.batch.min(o.records - done);
        let batch: Vec<NewEvidence> = (done..done + n).map(record).collect();
        bytes += batch.iter().map(|e| e.data.len() as u64).sum::<u64>();
        store.append_evidence_batch(company, &batch).await.unwrap();
        done += n;
        if last_report.elapsed().as_secs() >= 30 {
            println!(
                "  … {done} records, {:.0} appends/s so far",
                done as f64 / t0.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let bulk = t0.elapsed().as_secs_f64();
    println!(
        "bulk append: {} records in {:.1} s = {:.0} appends/s (record bytes: {:.0} average)",
        o.records,
        bulk,
        o.records as f64 / bulk,
        bytes as f64 / o.records as f64
    );

    let mut single = Vec::new();
    for k in 0..o.singles {
        let e = record(o.records + k);
        let t = Instant::now();
        store.append_evidence(company, &e).await.unwrap();
        single.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let size = store.evidence_size(company).await.unwrap();
    println!(
        "single appends (one transaction each) at size {}: median {:.2} ms, p99 {:.2} ms, {:.0}/s",
        size,
        pct(single.clone(), 0.5),
        pct(single.clone(), 0.99),
        1000.0 / pct(single, 0.5)
    );

    let root = {
        let r = doorstep_merkle::Recorder::new();
        doorstep_merkle::root_at(size, &r).unwrap();
        let mut t = doorstep_merkle::MemStore::new();
        for ((l, i), h) in store.merkle_nodes(company, &r.nodes()).await.unwrap() {
            t.insert(l, i, h);
        }
        doorstep_merkle::root_at(size, &t).unwrap()
    };
    let mut state = 42u64;
    let mut times = Vec::new();
    let mut nodes_read = Vec::new();
    for _ in 0..o.proofs {
        let index = rnd(&mut state) % size;
        let t = Instant::now();
        let rec = store
            .evidence_record(company, index)
            .await
            .unwrap()
            .unwrap();
        let r = doorstep_merkle::Recorder::new();
        doorstep_merkle::inclusion_proof(index, size, &r).unwrap();
        let want = r.nodes();
        let mut tree = doorstep_merkle::MemStore::new();
        for ((l, i), h) in store.merkle_nodes(company, &want).await.unwrap() {
            tree.insert(l, i, h);
        }
        let path = doorstep_merkle::inclusion_proof(index, size, &tree).unwrap();
        let leaf = doorstep_merkle::leaf_hash(&rec.data);
        doorstep_merkle::verify_inclusion(index, size, &leaf, &path, &root).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        nodes_read.push(want.len() as f64);
    }
    println!(
        "inclusion proof (read record + nodes, compute, verify) at size {}: median {:.2} ms, p99 {:.2} ms; nodes read median {:.0}",
        size,
        pct(times.clone(), 0.5),
        pct(times, 0.99),
        pct(nodes_read, 0.5)
    );
    let mut times = Vec::new();
    for _ in 0..(o.proofs / 4).max(10) {
        let from = 1 + rnd(&mut state) % (size - 1);
        let t = Instant::now();
        let r = doorstep_merkle::Recorder::new();
        doorstep_merkle::consistency_proof(from, size, &r).unwrap();
        doorstep_merkle::root_at(from, &r).unwrap();
        let mut tree = doorstep_merkle::MemStore::new();
        for ((l, i), h) in store.merkle_nodes(company, &r.nodes()).await.unwrap() {
            tree.insert(l, i, h);
        }
        let old = doorstep_merkle::root_at(from, &tree).unwrap();
        let p = doorstep_merkle::consistency_proof(from, size, &tree).unwrap();
        doorstep_merkle::verify_consistency(from, size, &old, &root, &p).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "consistency proof (old root + proof, verify) to size {}: median {:.2} ms, p99 {:.2} ms",
        size,
        pct(times.clone(), 0.5),
        pct(times, 0.99)
    );

    if o.backend == "postgres" {
        let pool = sqlx::PgPool::connect(&o.pg).await.unwrap();
        let mut total = 0i64;
        for t in [
            "evidence_records",
            "evidence_subjects",
            "merkle_nodes",
            "evidence_logs",
        ] {
            let q = format!("SELECT pg_total_relation_size('{schema}.{t}')");
            let n: i64 = sqlx::query_scalar(&q).fetch_one(&pool).await.unwrap();
            println!("  {t}: {:.1} MB", n as f64 / 1e6);
            total += n;
        }
        println!(
            "storage: {:.1} MB for {} records = {:.0} bytes/record (record JSON {:.0})",
            total as f64 / 1e6,
            size,
            total as f64 / size as f64,
            bytes as f64 / o.records as f64
        );
        drop(pool);
        doorstep_store_postgres::drop_schema(&o.pg, &schema)
            .await
            .unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        let mut sizes = Vec::new();
        for t in ["evidence_records", "evidence_subjects", "merkle_nodes"] {
            let q =
                format!("SELECT SUM(pgsize) FROM dbstat WHERE name = '{t}' OR tbl_name = '{t}'");
            let n: Option<i64> = sqlx::query_scalar(&q).fetch_one(&pool).await.ok().flatten();
            sizes.push((t, n));
        }
        let len = std::fs::metadata(&file).unwrap().len();
        for (t, n) in sizes {
            if let Some(n) = n {
                println!("  {t}: {:.1} MB", n as f64 / 1e6);
            }
        }
        println!(
            "storage: SQLite file {:.1} MB for {} records = {:.0} bytes/record (record JSON {:.0})",
            len as f64 / 1e6,
            size,
            len as f64 / size as f64,
            bytes as f64 / o.records as f64
        );
    }
}

fn pdf_bench() {
    use doorstep_receipt::{ContentLine, Extras, Layout, ReceiptContent};
    let content = ReceiptContent {
        v: 1,
        company_id: 1,
        company: "幸福里物业服务有限公司".into(),
        company_code: "91350100M000100Y43".into(),
        estate: "幸福里小区".into(),
        number: 123,
        issued_at: "2026-11-27T19:42:05+08:00".into(),
        payer: "王秀英".into(),
        object: "3栋2单元1201".into(),
        lines: (0..4)
            .map(|i| ContentLine {
                item: ["物业服务费", "车位管理费", "垃圾清运费", "公摊电费"][i].into(),
                period: "2026-11".into(),
                basis: "2.50元/m² × 89.50m²".into(),
                amount_fen: 22375,
                late_fee_fen: if i == 0 { 120 } else { 0 },
                waived_fen: 0,
                paid_fen: 22375,
            })
            .collect(),
        total_fen: 89620,
        method: "wechat".into(),
        transaction_id: Some("4200002026112712345678901234".into()),
        collector: "李师傅".into(),
        payment_id: 77,
    };
    let signer = doorstep_merkle::note::Signer::from_seed("doorstep/company/1", &[9; 32]).unwrap();
    let note = content.sign(&signer).unwrap();
    for (name, layout) in [
        ("A4", Layout::A4),
        ("A5", Layout::A5),
        ("80mm", Layout::Thermal80),
    ] {
        let extras = Extras {
            verify_url: "https://pay.example.com/r/0123456789abcdef0123456789abcdef",
            evidence_index: Some(1234567),
            void: None,
            signed_note: &note,
            key_name: "doorstep/company/1",
        };
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..60 {
            let t = Instant::now();
            let pdf = doorstep_receipt::render(&content, &extras, layout).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            size = pdf.len();
        }
        let med = pct(times, 0.5);
        println!(
            "receipt PDF {name}: median {med:.1} ms = {:.0} PDFs/s per core, {:.0} KB",
            1000.0 / med,
            size as f64 / 1024.0
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = opts();
    if o.only.iter().any(|x| x == "pdf") {
        pdf_bench();
    }
    if o.only.iter().any(|x| x == "log") {
        log_bench(&o).await;
    }
}
