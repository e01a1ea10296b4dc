//! `sql!` queries against real databases: the bundled SQLite, and the PostgreSQL server whose URL
//! is in `MCP_SECURE_PG_URL` (`.ci/run` starts one with `.ci/postgres.sh`). The same checks run
//! on both: every placeholder kind, composition, identifiers, lists, `LIKE` escaping,
//! transactions, and an injection corpus stored and read back byte for byte.

use mcp_secure::sql::{DbError, Sql, SqlIdent, like_contains, sql, sqlx};

#[derive(SqlIdent, Clone, Copy)]
enum Sort {
    Title,
    #[sql(name = "id")]
    Newest,
}

/// Classic injection payloads; each must be stored and read back unchanged and match nothing it
/// should not.
const PAYLOADS: &[&str] = &[
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE corpus",
    "1; DROP TABLE notes; --",
    "'--",
    "'/*",
    "*/ OR 1=1 /*",
    "x' UNION SELECT id, owner, title FROM corpus --",
    "' UNION ALL SELECT NULL, NULL, NULL --",
    "'; INSERT INTO corpus (owner, title) VALUES ('mallory', 'pwned'); --",
    "Robert'); DROP TABLE notes;--",
    "\\'; SELECT 1; --",
    "$1",
    "?1",
    "{owner}",
    "$$ OR 1=1 $$",
    "\u{2019} OR \u{2019}1\u{2019}=\u{2019}1",
    "\u{02bc} OR \u{02bc}1\u{02bc}=\u{02bc}1",
    "\u{ff07} OR \u{ff07}1\u{ff07}=\u{ff07}1",
    "100%_off",
    "%",
    "_",
    "\\",
    "\u{202e}txt.exe",
    "' AND SLEEP(5) --",
    "'; SELECT pg_sleep(5); --",
    "\" OR \"\"=\"",
    "admin'--",
];

/// The whole suite, on one pool. A macro because the row types differ per database.
macro_rules! suite {
    ($pool:expr, $with_nul:expr) => {{
        let pool = $pool;
        sql!("DROP TABLE IF EXISTS corpus").execute(&pool).await.unwrap();
        sql!(
            "CREATE TABLE corpus (id BIGINT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, tag TEXT, pinned BOOLEAN NOT NULL DEFAULT FALSE)"
        )
        .execute(&pool)
        .await
        .unwrap();

        // Every payload, as a title and as an owner, is data.
        assert_eq!(PAYLOADS.len(), 28, "SECURITY.md's figure");
        let mut payloads: Vec<String> = PAYLOADS.iter().map(|p| p.to_string()).collect();
        if $with_nul {
            payloads.push("a\0b".into());
        }
        for (i, p) in payloads.iter().enumerate() {
            let id = i as i64 + 1;
            let inserted = sql!(
                "INSERT INTO corpus (id, owner, title, tag) VALUES ({id}, {owner}, {p}, {tag})",
                owner = "mallory",
                tag = None::<&str>,
            )
            .execute(&pool)
            .await
            .unwrap();
            assert_eq!(inserted, 1);
        }
        sql!("INSERT INTO corpus (id, owner, title, tag, pinned) VALUES (1000, 'alice', 'secret of alice', 'home', TRUE)")
            .execute(&pool)
            .await
            .unwrap();
        for p in &payloads {
            let rows: Vec<(i64, String)> = sql!(
                "SELECT id, title FROM corpus WHERE owner = {o} AND title = {p}",
                o = "mallory"
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert_eq!(rows.len(), 1, "{p:?} stored once and found");
            assert_eq!(&rows[0].1, p, "{p:?} read back byte for byte");
            let as_owner: Vec<(i64, String)> =
                sql!("SELECT id, title FROM corpus WHERE owner = {p}")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            assert!(as_owner.is_empty(), "{p:?} as an owner matches nobody");
            let as_id: Option<(i64, String)> =
                sql!("SELECT id, title FROM corpus WHERE title = {p} AND owner = 'alice'")
                    .fetch_optional(&pool)
                    .await
                    .unwrap();
            assert!(as_id.is_none(), "{p:?} never reaches alice's note");
            let contains: Vec<(i64, String)> = sql!(
                "SELECT id, title FROM corpus WHERE title LIKE {pattern} ESCAPE '\\' ORDER BY {s:ident}",
                pattern = like_contains(p),
                s = Sort::Newest,
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert!(
                contains.iter().all(|(_, t)| t.contains(p.as_str())),
                "LIKE with {p:?} matched only titles containing it literally"
            );
            assert!(contains.iter().any(|(_, t)| t == p));
        }
        let (count,): (i64,) = sql!("SELECT count(*) FROM corpus")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, payloads.len() as i64 + 1, "no payload added or dropped a row");

        // LIKE wildcards in user text match literally.
        let percent: Vec<(String,)> =
            sql!("SELECT title FROM corpus WHERE title LIKE {p} ESCAPE '\\' ORDER BY title", p = like_contains("%"))
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(percent, [("%".to_string(),), ("100%_off".to_string(),)]);

        // Identifiers from an `SqlIdent` enum, lists, limits.
        let ids = [3i64, 1, 2];
        let listed: Vec<(i64, String)> = sql!(
            "SELECT id, title FROM corpus WHERE id IN {ids:list} ORDER BY {sort:ident} LIMIT {n}",
            sort = Sort::Newest,
            n = 2,
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(listed.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
        let by_title: Vec<(String,)> = sql!(
            "SELECT title FROM corpus WHERE owner = {o} ORDER BY {s:ident} LIMIT 1",
            o = "alice",
            s = Sort::Title,
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(by_title, [("secret of alice".to_string(),)]);
        let none: Vec<i64> = Vec::new();
        let empty = sql!("SELECT id, title FROM corpus WHERE id IN {none:list}")
            .fetch_all::<(i64, String), _>(&pool)
            .await;
        assert!(matches!(empty, Err(DbError::Render(_))), "an empty list is refused before the database");

        // Composition: optional filters, joined alternatives, renumbered parameters.
        let tags = ["home", "work"];
        let mut q = sql!("SELECT id FROM corpus");
        q.push_where([
            sql!("owner = {o}", o = "alice"),
            Sql::join(tags.iter().map(|t| sql!("tag = {t}")), &sql!(" OR ")),
            sql!("pinned = {p}", p = true),
        ]);
        q.push(sql!(" ORDER BY id LIMIT {n}", n = 10));
        let found: Vec<(i64,)> = q.fetch_all(&pool).await.unwrap();
        assert_eq!(found, [(1000,)]);
        let mut q = sql!("SELECT id FROM corpus");
        q.push_where([sql!("owner = {o}", o = "nobody' OR '1'='1")]);
        assert!(q.fetch_all::<(i64,), _>(&pool).await.unwrap().is_empty());

        // NULL binds into a text column and compares as NULL.
        let untagged: (i64,) = sql!("SELECT count(*) FROM corpus WHERE tag IS NULL AND owner = {o}", o = "mallory")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(untagged.0, payloads.len() as i64);

        // Transactions: a rollback leaves nothing, a commit keeps everything.
        let mut tx = pool.begin().await.unwrap();
        sql!("INSERT INTO corpus (id, owner, title) VALUES (2000, {o}, 'draft')", o = "bob")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        sql!("INSERT INTO corpus (id, owner, title) VALUES (2001, {o}, 'kept')", o = "bob")
            .execute(&mut *tx)
            .await
            .unwrap();
        let inside: (i64,) = sql!("SELECT count(*) FROM corpus WHERE owner = {o}", o = "bob")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(inside.0, 1);
        tx.commit().await.unwrap();
        let bob: Vec<(i64, String)> = sql!("SELECT id, title FROM corpus WHERE owner = {o}", o = "bob")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(bob, [(2001, "kept".to_string())]);

        // A failed statement is an error that becomes a generic `internal` tool error.
        let duplicate = sql!("INSERT INTO corpus (id, owner, title) VALUES (2001, 'x', 'y')")
            .execute(&pool)
            .await
            .unwrap_err();
        let client_sees = format!("{}", mcp_secure::ToolError::from(duplicate));
        assert!(!client_sees.contains("INSERT") && !client_sees.contains("corpus"), "{client_sees}");

        // The table survived every payload.
        let deleted = sql!("DELETE FROM corpus WHERE owner = {o}", o = "mallory")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(deleted, payloads.len() as u64);
        sql!("DROP TABLE corpus").execute(&pool).await.unwrap();
    }};
}

#[tokio::test]
async fn sqlite() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    suite!(pool, true);
}

#[tokio::test]
#[cfg_attr(
    skip_postgres,
    ignore = "MCP_SECURE_PG_URL is not set: `export MCP_SECURE_PG_URL=$(.ci/postgres.sh)` runs it"
)]
async fn postgres() {
    let Some(url) = std::env::var_os("MCP_SECURE_PG_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "MCP_SECURE_PG_URL is not set; .ci/run sets it from .ci/postgres.sh"
        );
        eprintln!(
            "SKIPPED: set MCP_SECURE_PG_URL (e.g. from .ci/postgres.sh) to run the PostgreSQL tests"
        );
        return;
    };
    let pool = sqlx::PgPool::connect(url.to_str().unwrap()).await.unwrap();
    // PostgreSQL refuses NUL in text: the payload gets a clear database error, not a truncation.
    let nul = sql!("SELECT {t}::text", t = "a\0b")
        .fetch_one::<(String,), _>(&pool)
        .await;
    assert!(nul.is_err(), "NUL is refused, never silently cut");
    suite!(pool, false);
}
