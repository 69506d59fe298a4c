//! The two backends' schemas agree: after migrating a fresh SQLite file and
//! a fresh PostgreSQL schema, both are read back from the databases
//! themselves (SQLite's `PRAGMA`s, PostgreSQL's catalogs) and compared
//! table by table: columns, their storage class and nullability, primary
//! keys, indexes (columns, uniqueness, whether partial) and foreign keys.
//! The few differences on purpose are listed in [`KNOWN`] with their
//! reason; any other difference, or a listed one that has gone, fails.
//!
//! Needs PostgreSQL (127.0.0.1:5432, or `DOORSTEP_TEST_PG_URL`); skipped with
//! a note without it, unless `CI` or `DOORSTEP_REQUIRE_PG` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// Differences between the schemas that are meant, each with why (none
/// today: the tables PostgreSQL alone fills, such as the totals' delta
/// rows, exist in SQLite too, empty; triggers and functions are written
/// per dialect and not compared).
const KNOWN: &[(&str, &str)] = &[];

fn url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[derive(Debug, Default)]
struct Table {
    /// name → (storage class, not null)
    columns: BTreeMap<String, (String, bool)>,
    primary_key: Vec<String>,
    /// (columns, unique, partial)
    indexes: BTreeSet<(Vec<String>, bool, bool)>,
    /// (columns, referenced table, referenced columns)
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>)>,
}

type Schema = BTreeMap<String, Table>;

/// A declared SQLite type as a storage class (SQLite keeps booleans as integers).
fn sqlite_class(declared: &str) -> String {
    let t = declared.to_ascii_uppercase();
    let class = if t.contains("INT") || t.contains("BOOL") {
        "integer"
    } else if t.contains("JSON") {
        "json"
    } else if t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB") {
        "text"
    } else if t.contains("BLOB") {
        "blob"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real"
    } else {
        return format!("other({declared})");
    };
    class.into()
}

fn pg_class(data_type: &str) -> String {
    match data_type {
        "bigint" | "integer" | "smallint" | "boolean" => "integer",
        "text" | "character varying" | "character" => "text",
        "bytea" => "blob",
        "json" | "jsonb" => "json",
        "double precision" | "real" => "real",
        other => return format!("other({other})"),
    }
    .into()
}

async fn sqlite_schema(pool: &sqlx::SqlitePool) -> Schema {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for name in names {
        let mut t = Table::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for r in sqlx::query(&format!("PRAGMA table_info(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let col: String = r.get("name");
            let declared: String = r.get("type");
            let pk_pos: i64 = r.get("pk");
            let not_null = r.get::<i64, _>("notnull") == 1 || pk_pos > 0;
            if pk_pos > 0 {
                pk.push((pk_pos, col.clone()));
            }
            t.columns.insert(col, (sqlite_class(&declared), not_null));
        }
        pk.sort();
        t.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for r in sqlx::query(&format!("PRAGMA index_list(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let origin: String = r.get("origin");
            if origin == "pk" {
                continue;
            }
            let index: String = r.get("name");
            let unique = r.get::<i64, _>("unique") == 1;
            let partial = r.get::<i64, _>("partial") == 1;
            let mut cols: Vec<(i64, String)> = Vec::new();
            for c in sqlx::query(&format!("PRAGMA index_info(\"{index}\")"))
                .fetch_all(pool)
                .await
                .unwrap()
            {
                let col: Option<String> = c.get("name");
                cols.push((c.get("seqno"), col.unwrap_or_else(|| "<expression>".into())));
            }
            cols.sort();
            t.indexes
                .insert((cols.into_iter().map(|(_, c)| c).collect(), unique, partial));
        }
        let mut fks: BTreeMap<i64, (Vec<String>, String, Vec<String>)> = BTreeMap::new();
        for r in sqlx::query(&format!("PRAGMA foreign_key_list(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let id: i64 = r.get("id");
            let to: Option<String> = r.get("to");
            let e = fks
                .entry(id)
                .or_insert_with(|| (Vec::new(), r.get("table"), Vec::new()));
            e.0.push(r.get("from"));
            // A reference without columns names the parent's primary key.
            e.2.push(to.unwrap_or_default());
        }
        for (_, (from, table, to)) in fks {
            let to = if to.iter().all(String::is_empty) {
                vec!["<primary key>".to_string()]
            } else {
                to
            };
            t.foreign_keys.insert((from, table, to));
        }
        schema.insert(name, t);
    }
    // References written without columns: resolve to the parent's key.
    let keys: BTreeMap<String, Vec<String>> = schema
        .iter()
        .map(|(n, t)| (n.clone(), t.primary_key.clone()))
        .collect();
    for t in schema.values_mut() {
        t.foreign_keys = std::mem::take(&mut t.foreign_keys)
            .into_iter()
            .map(|(from, table, to)| {
                let to = if to == ["<primary key>"] {
                    keys.get(&table).cloned().unwrap_or(to)
                } else {
                    to
                };
                (from, table, to)
            })
            .collect();
    }
    schema
}

async fn pg_schema(pool: &sqlx::PgPool) -> Schema {
    let mut schema = Schema::new();
    for r in sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text AS n \
         FROM information_schema.columns c WHERE table_schema = current_schema() \
         AND EXISTS (SELECT 1 FROM information_schema.tables x WHERE x.table_schema = c.table_schema AND x.table_name = c.table_name AND x.table_type = 'BASE TABLE') \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        let n: String = r.get("n");
        schema.entry(r.get("t")).or_default().columns.insert(
            r.get("c"),
            (pg_class(&r.get::<String, _>("ty")), n == "NO"),
        );
    }
    // Every index, with its columns in order (0 in indkey: an expression).
    for r in sqlx::query(
        "SELECT t.relname::text AS t, i.indisprimary AS pk, i.indisunique AS uq, i.indpred IS NOT NULL AS partial, \
         ARRAY(SELECT COALESCE(a.attname::text, '<expression>') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
               LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS cols \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        let Some(t) = schema.get_mut(&r.get::<String, _>("t")) else {
            continue;
        };
        let cols: Vec<String> = r.get("cols");
        if r.get::<bool, _>("pk") {
            t.primary_key = cols;
        } else {
            t.indexes.insert((cols, r.get("uq"), r.get("partial")));
        }
    }
    for r in sqlx::query(
        "SELECT t.relname::text AS t, f.relname::text AS f, \
         ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS cols, \
         ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS refs \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if let Some(t) = schema.get_mut(&r.get::<String, _>("t")) {
            t.foreign_keys
                .insert((r.get("cols"), r.get("f"), r.get("refs")));
        }
    }
    schema
}

/// Every difference, one line each, in a stable order.
fn differences(sqlite: &Schema, pg: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = sqlite.keys().chain(pg.keys()).collect();
    for name in names {
        let (s, p) = match (sqlite.get(name), pg.get(name)) {
            (Some(s), Some(p)) => (s, p),
            (Some(_), None) => {
                out.push(format!("table {name}: only in SQLite"));
                continue;
            }
            (None, _) => {
                out.push(format!("table {name}: only in PostgreSQL"));
                continue;
            }
        };
        let cols: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
        for c in cols {
            match (s.columns.get(c), p.columns.get(c)) {
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => out.push(format!(
                    "column {name}.{c}: SQLite {} {}, PostgreSQL {} {}",
                    a.0,
                    if a.1 { "not null" } else { "null" },
                    b.0,
                    if b.1 { "not null" } else { "null" }
                )),
                (Some(_), None) => out.push(format!("column {name}.{c}: only in SQLite")),
                (None, _) => out.push(format!("column {name}.{c}: only in PostgreSQL")),
            }
        }
        if s.primary_key != p.primary_key {
            out.push(format!(
                "primary key {name}: SQLite {:?}, PostgreSQL {:?}",
                s.primary_key, p.primary_key
            ));
        }
        let show = |i: &(Vec<String>, bool, bool)| {
            format!(
                "({}){}{}",
                i.0.join(", "),
                if i.1 { " unique" } else { "" },
                if i.2 { " partial" } else { "" }
            )
        };
        for i in s.indexes.difference(&p.indexes) {
            out.push(format!("index {name} {}: only in SQLite", show(i)));
        }
        for i in p.indexes.difference(&s.indexes) {
            out.push(format!("index {name} {}: only in PostgreSQL", show(i)));
        }
        let fk = |f: &(Vec<String>, String, Vec<String>)| {
            format!("({}) → {}({})", f.0.join(", "), f.1, f.2.join(", "))
        };
        for f in s.foreign_keys.difference(&p.foreign_keys) {
            out.push(format!("foreign key {name} {}: only in SQLite", fk(f)));
        }
        for f in p.foreign_keys.difference(&s.foreign_keys) {
            out.push(format!("foreign key {name} {}: only in PostgreSQL", fk(f)));
        }
    }
    out
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let lite = doorstep_store_sqlite::open(&dir.path().join("schema.sqlite"))
        .await
        .unwrap();
    let schema = format!(
        "schema_{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    let pg = match doorstep_store_postgres::open(&url(), Some(&schema)).await {
        Ok(pg) => pg,
        Err(e)
            if std::env::var_os("CI").is_none()
                && std::env::var_os("DOORSTEP_REQUIRE_PG").is_none() =>
        {
            eprintln!(
                "SKIPPED: schema comparison (PostgreSQL unreachable at {}: {e})",
                url()
            );
            return;
        }
        Err(e) => panic!(
            "PostgreSQL is required here (CI or DOORSTEP_REQUIRE_PG) but unreachable at {}: {e}",
            url()
        ),
    };
    let a = sqlite_schema(lite.pool()).await;
    let b = pg_schema(pg.pool()).await;
    drop(pg);
    let _ = doorstep_store_postgres::drop_schema(&url(), &schema).await;
    assert!(a.len() > 30, "read {} SQLite tables", a.len());
    let found = differences(&a, &b);
    let known: Vec<String> = KNOWN.iter().map(|(d, _)| d.to_string()).collect();
    let new: Vec<&String> = found.iter().filter(|d| !known.contains(d)).collect();
    let gone: Vec<&String> = known.iter().filter(|d| !found.contains(d)).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "the schemas differ where they should not:\n{}\n\nlisted as known but no longer different (remove from KNOWN):\n{}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        gone.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let columns: usize = a.values().map(|t| t.columns.len()).sum();
    let indexes: usize = a.values().map(|t| t.indexes.len()).sum();
    let keys: usize = a.values().map(|t| t.foreign_keys.len()).sum();
    eprintln!(
        "compared {} tables, {columns} columns, {indexes} indexes, {keys} foreign keys",
        a.len()
    );
    assert!(columns > 200 && indexes > 20 && keys > 30);

    // The comparison sees drift: a column, an index and a table that only
    // SQLite has, and a nullability that differs.
    for sql in [
        "ALTER TABLE payments ADD COLUMN note TEXT",
        "CREATE INDEX drift ON payments (method, paid_on)",
        "CREATE TABLE drifted (id INTEGER PRIMARY KEY, payment_id INTEGER NOT NULL REFERENCES payments (id))",
    ] {
        sqlx::query(sql).execute(lite.pool()).await.unwrap();
    }
    let after = differences(&sqlite_schema(lite.pool()).await, &b);
    let drift: Vec<&String> = after.iter().filter(|d| !found.contains(d)).collect();
    assert_eq!(
        drift,
        [
            "table drifted: only in SQLite",
            "column payments.note: only in SQLite",
            "index payments (method, paid_on): only in SQLite",
        ],
    );
    let mut b = b;
    if let Some(t) = b.get_mut("payments")
        && let Some(c) = t.columns.get_mut("method")
    {
        c.1 = !c.1;
    }
    assert!(
        differences(&a, &b)
            .iter()
            .any(|d| d.starts_with("column payments.method: SQLite text")),
        "a nullability difference goes unseen"
    );
}
