//! `sql!` against the same query written with sqlx by hand (same text, same binds), on an
//! in-memory SQLite database, in the same run: a select of 10 rows by owner with a `LIKE`
//! filter and a limit, and an insert.
//!
//! `cargo bench -p mcp-secure --features sqlite --bench sql`

mod common;

// The baseline is sqlx itself (a dependency of mcp-secure), not the narrow re-export.
use mcp_secure::sql::{like_contains, sql};
use sqlx::SqlitePool;
use tokio::runtime::Runtime;

#[derive(sqlx::FromRow)]
#[allow(dead_code)]
struct Note {
    id: i64,
    title: String,
}

fn setup() -> (Runtime, SqlitePool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sql!(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL)"
        )
        .execute(&pool)
        .await
        .unwrap();
        for i in 0..1000 {
            let owner = if i % 10 == 0 { "alice" } else { "bob" };
            sql!(
                "INSERT INTO notes (owner, title) VALUES ({owner}, {t})",
                t = format!("note {i}")
            )
            .execute(&pool)
            .await
            .unwrap();
        }
        pool
    });
    (rt, pool)
}

const SELECT: &str = "SELECT id, title FROM notes WHERE owner = ?1 AND title LIKE ?2 ESCAPE '\\' ORDER BY id LIMIT ?3";

// The four operations measured, each the same in the timed and the counted runs.

fn select_macro(rt: &Runtime, pool: &SqlitePool, pattern: &str) {
    let rows: Vec<Note> = rt
        .block_on(
            sql!("SELECT id, title FROM notes WHERE owner = {o} AND title LIKE {pattern} ESCAPE '\\' ORDER BY id LIMIT {n}", o = "alice", n = 10)
                .fetch_all(pool),
        )
        .unwrap();
    assert_eq!(rows.len(), 10);
}

fn select_sqlx(rt: &Runtime, pool: &SqlitePool, pattern: &str) {
    let rows: Vec<Note> = rt
        .block_on(
            sqlx::query_as(SELECT)
                .bind("alice")
                .bind(pattern)
                .bind(10_i64)
                .fetch_all(pool),
        )
        .unwrap();
    assert_eq!(rows.len(), 10);
}

fn insert_macro(rt: &Runtime, pool: &SqlitePool) -> u64 {
    rt.block_on(
        sql!(
            "INSERT INTO notes (owner, title) VALUES ({o}, {t})",
            o = "carol",
            t = "a new note"
        )
        .execute(pool),
    )
    .unwrap()
}

fn insert_sqlx(rt: &Runtime, pool: &SqlitePool) -> u64 {
    rt.block_on(
        sqlx::query("INSERT INTO notes (owner, title) VALUES (?1, ?2)")
            .bind("carol")
            .bind("a new note")
            .execute(pool),
    )
    .unwrap()
    .rows_affected()
}

fn main() {
    // `MCP_BENCH_RUN=<select_macro|select_sqlx|insert_macro|insert_sqlx>:<calls>` for
    // instruction counts (`benches/instructions.sh`).
    if let Ok(run) = std::env::var("MCP_BENCH_RUN") {
        let (variant, calls) = run.split_once(':').expect("variant:calls");
        let calls: usize = calls.parse().unwrap();
        let (rt, pool) = setup();
        let pattern = like_contains("note");
        let op = || match variant {
            "select_macro" => select_macro(&rt, &pool, &pattern),
            "select_sqlx" => select_sqlx(&rt, &pool, &pattern),
            "insert_macro" => {
                insert_macro(&rt, &pool);
            }
            "insert_sqlx" => {
                insert_sqlx(&rt, &pool);
            }
            other => panic!("unknown variant {other}"),
        };
        // One call before counting starts, so that lazy set-up is not counted.
        op();
        common::counted(calls, op);
        return;
    }
    divan::main();
}

mod select {
    use super::*;

    #[divan::bench]
    fn sql_macro(bencher: divan::Bencher) {
        let (rt, pool) = setup();
        let pattern = like_contains("note");
        bencher.bench_local(|| super::select_macro(&rt, &pool, &pattern));
    }

    #[divan::bench]
    fn sqlx_by_hand(bencher: divan::Bencher) {
        let (rt, pool) = setup();
        let pattern = like_contains("note");
        bencher.bench_local(|| super::select_sqlx(&rt, &pool, &pattern));
    }
}

mod insert {
    use super::*;

    #[divan::bench]
    fn sql_macro(bencher: divan::Bencher) {
        let (rt, pool) = setup();
        bencher.bench_local(|| super::insert_macro(&rt, &pool));
    }

    #[divan::bench]
    fn sqlx_by_hand(bencher: divan::Bencher) {
        let (rt, pool) = setup();
        bencher.bench_local(|| super::insert_sqlx(&rt, &pool));
    }
}
