//! Rows read with mcp-secure's `FromRow`, in a crate that does not depend on sqlx.

use mcp_secure::sql::{
    sql,
    sqlx::{FromRow, SqlitePool},
};

#[derive(FromRow, Debug, PartialEq)]
struct Note {
    id: i64,
    #[sqlx(rename = "title")]
    name: String,
    #[sqlx(default)]
    missing: Option<String>,
    #[sqlx(skip)]
    skipped: u8,
    #[sqlx(json)]
    tags: Vec<String>,
    #[sqlx(flatten)]
    owner: Owner,
}

#[derive(FromRow, Debug, PartialEq)]
struct Owner {
    owner: String,
}

#[derive(FromRow, Debug, PartialEq)]
struct Pair(i64, String);

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
            sql!("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, tags TEXT NOT NULL, owner TEXT NOT NULL)")
                .execute(&pool)
                .await
                .unwrap();
            sql!("INSERT INTO notes (title, tags, owner) VALUES ({t}, {g}, {o})", t = "a", g = r#"["x","y"]"#, o = "alice")
                .execute(&pool)
                .await
                .unwrap();
            let notes: Vec<Note> = sql!("SELECT id, title, tags, owner FROM notes")
                .fetch_all(&pool)
                .await
                .unwrap();
            assert_eq!(
                notes,
                [Note {
                    id: 1,
                    name: "a".into(),
                    missing: None,
                    skipped: 0,
                    tags: vec!["x".into(), "y".into()],
                    owner: Owner { owner: "alice".into() },
                }]
            );
            let pair: Pair = sql!("SELECT id, title FROM notes").fetch_one(&pool).await.unwrap();
            assert_eq!(pair, Pair(1, "a".into()));
        });
}
