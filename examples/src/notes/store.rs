use std::time::{SystemTime, UNIX_EPOCH};

use mcp_secure::{
    ToolError,
    auth::Principal,
    secret::SecretString,
    sql::{
        SqlIdent, sql,
        sqlx::{self, FromRow, PgPool, SqliteConnectOptions, SqlitePool, SqlitePoolOptions},
    },
};
use serde::Serialize;

/// A note.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, FromRow)]
pub struct Note {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// Its tags.
    #[sqlx(json)]
    pub tags: Vec<String>,
    /// When it was created, in seconds since the Unix epoch.
    pub created_at: i64,
}

/// The order of search results; the names are the columns.
#[derive(SqlIdent, Clone, Copy)]
pub enum SortColumn {
    /// By title.
    Title,
    /// By creation (the id grows with time).
    #[sql(name = "id")]
    Created,
}

/// The notes and webhooks of every caller in SQLite or PostgreSQL, shared by all sessions. Each
/// note belongs to the caller that created it, in the tenant it acted for; other callers, and
/// the same caller in another tenant, cannot see that it exists.
#[derive(Clone)]
pub struct NotesStore {
    pool: Pool,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the `sql!` query `$q` with `$method` (`execute`, `fetch_one`, …) on whichever database
/// the store has: the same query, rendered for each.
macro_rules! run {
    ($store:expr, $q:expr, $method:ident) => {
        match &$store.pool {
            Pool::Sqlite(pool) => $q.$method(pool).await,
            Pool::Postgres(pool) => $q.$method(pool).await,
        }
    };
}

impl NotesStore {
    /// Opens (creating if needed) the SQLite database at `path`, an in-memory one for
    /// `:memory:`, or the PostgreSQL database of a `postgres://` URL.
    pub async fn open(path: &str) -> Result<Self, sqlx::Error> {
        let pool = if path.starts_with("postgres://") || path.starts_with("postgresql://") {
            Pool::Postgres(PgPool::connect(path).await?)
        } else if path == ":memory:" {
            // One connection: every connection to `:memory:` would be a database of its own.
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:")
                .await
                .map(Pool::Sqlite)?
        } else {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            Pool::Sqlite(SqlitePoolOptions::new().connect_with(options).await?)
        };
        let store = Self { pool };
        store
            .migrate()
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        Ok(store)
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> bool {
        run!(self, sql!("SELECT 1"), execute).is_ok()
    }

    async fn migrate(&self) -> Result<(), ToolError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                sql!(
                    "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, tenant TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL)"
                )
                .execute(pool)
                .await?;
                sql!("CREATE TABLE IF NOT EXISTS webhooks (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL)")
                    .execute(pool)
                    .await?;
            }
            Pool::Postgres(pool) => {
                sql!(
                    "CREATE TABLE IF NOT EXISTS notes (id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, tenant TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, tags JSONB NOT NULL, created_at BIGINT NOT NULL)"
                )
                .execute(pool)
                .await?;
                sql!("CREATE TABLE IF NOT EXISTS webhooks (id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL)")
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Stores a new note owned by `caller`.
    pub async fn create(
        &self,
        caller: &Principal,
        title: String,
        body: String,
        tags: Vec<String>,
    ) -> Result<Note, ToolError> {
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let tags_json = serde_json::to_string(&tags).map_err(ToolError::internal)?;
        // PostgreSQL keeps the tags as `jsonb`, SQLite as JSON text.
        let note: Note = match &self.pool {
            Pool::Sqlite(pool) => sql!(
                "INSERT INTO notes (owner, tenant, title, body, tags, created_at) VALUES ({caller}, {caller}, {title}, {body}, {tags_json}, {created_at}) RETURNING id, title, body, tags, created_at"
            )
            .fetch_one(pool)
            .await?,
            Pool::Postgres(pool) => sql!(
                "INSERT INTO notes (owner, tenant, title, body, tags, created_at) VALUES ({caller}, {caller}, {title}, {body}, CAST({tags_json} AS jsonb), {created_at}) RETURNING id, title, body, tags, created_at"
            )
            .fetch_one(pool)
            .await?,
        };
        Ok(note)
    }

    /// Stores a webhook of `caller`; returns its id.
    pub async fn add_webhook(
        &self,
        caller: &Principal,
        url: &str,
        secret: SecretString,
    ) -> Result<i64, ToolError> {
        let insert = sql!(
            "INSERT INTO webhooks (owner, url, secret) VALUES ({caller}, {url}, {s}) RETURNING id",
            s = secret.expose_secret()
        );
        let (id,): (i64,) = run!(self, insert, fetch_one)?;
        Ok(id)
    }

    /// The URL of `caller`'s webhook `id` and the signature header value of a delivery of
    /// `payload` to it: `sha256=<hex HMAC-SHA256 of the payload with the webhook's secret>`.
    /// `None` for a webhook that does not exist or is someone else's.
    pub async fn sign_delivery(
        &self,
        caller: &Principal,
        id: i64,
        payload: &[u8],
    ) -> Result<Option<(String, String)>, ToolError> {
        use hmac::Mac;
        let select = sql!("SELECT url, secret FROM webhooks WHERE id = {id} AND owner = {caller}");
        let row: Option<(String, String)> = run!(self, select, fetch_optional)?;
        let Some((url, secret)) = row else {
            return Ok(None);
        };
        let secret = SecretString::new(secret);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map_err(ToolError::internal)?;
        mac.update(payload);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Some((url, format!("sha256={hex}"))))
    }

    /// `caller`'s note `id`; anyone else's is `not_found`, like a missing one (the table is
    /// owned: `sql!` does not compile this query without its owner predicate).
    pub async fn get(&self, caller: &Principal, id: i64) -> Result<Note, ToolError> {
        let select = sql!(
            "SELECT id, title, body, tags, created_at FROM notes WHERE id = {id} AND owner = {caller} AND tenant = {caller}"
        );
        let row: Option<Note> = run!(self, select, fetch_optional)?;
        row.ok_or_else(|| ToolError::not_found(format!("note {id}")))
    }

    /// Replaces the title and body of `caller`'s note `id`; anyone else's is `not_found`, like
    /// a missing one.
    pub async fn update(
        &self,
        caller: &Principal,
        id: i64,
        title: String,
        body: String,
    ) -> Result<Note, ToolError> {
        let update = sql!(
            "UPDATE notes SET title = {title}, body = {body} WHERE id = {id} AND owner = {caller} AND tenant = {caller}"
        );
        if run!(self, update, execute)? == 0 {
            return Err(ToolError::not_found(format!("note {id}")));
        }
        self.get(caller, id).await
    }

    /// Deletes `caller`'s note `id`; anyone else's is `not_found`, like a missing one.
    pub async fn delete(&self, caller: &Principal, id: i64) -> Result<(), ToolError> {
        let delete =
            sql!("DELETE FROM notes WHERE id = {id} AND owner = {caller} AND tenant = {caller}");
        let deleted = run!(self, delete, execute)?;
        if deleted == 0 {
            return Err(ToolError::not_found(format!("note {id}")));
        }
        Ok(())
    }

    /// `caller`'s notes whose title or body contains `query` (case-insensitive, literally).
    pub async fn search(
        &self,
        caller: &Principal,
        query: &str,
        sort: SortColumn,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Note>, ToolError> {
        let pattern = mcp_secure::sql::like_contains(query);
        // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does the same.
        let notes = match &self.pool {
            Pool::Sqlite(pool) => sql!(
                "SELECT id, title, body, tags, created_at FROM notes WHERE owner = {caller} AND tenant = {caller} AND (title LIKE {pattern} ESCAPE '\\' OR body LIKE {pattern} ESCAPE '\\') ORDER BY {sort:ident}, id LIMIT {limit} OFFSET {offset}"
            )
            .fetch_all(pool)
            .await?,
            Pool::Postgres(pool) => sql!(
                "SELECT id, title, body, tags, created_at FROM notes WHERE owner = {caller} AND tenant = {caller} AND (title ILIKE {pattern} ESCAPE '\\' OR body ILIKE {pattern} ESCAPE '\\') ORDER BY {sort:ident}, id LIMIT {limit} OFFSET {offset}"
            )
            .fetch_all(pool)
            .await?,
        };
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A principal as a tool receives its caller.
    fn caller(subject: &str, scopes: [&str; 1]) -> Principal {
        mcp_secure::testing::as_caller(Principal::new(subject, scopes))
    }

    #[tokio::test]
    async fn a_principal_that_is_not_the_caller_reads_nothing() {
        let store = NotesStore::open(":memory:").await.unwrap();
        let alice = caller("alice", ["notes:write"]);
        let note = store
            .create(&alice, "mine".into(), String::new(), Vec::new())
            .await
            .unwrap();
        // The same identity, made by hand from a name (as a tool might from its input).
        let made = Principal::new("alice", ["notes:write"]);
        assert_eq!(made, alice, "the same identity");
        let refused = store.get(&made, note.id).await.unwrap_err();
        assert_eq!(refused.code(), "internal");
        assert_eq!(store.get(&alice, note.id).await.unwrap().title, "mine");
    }

    #[tokio::test]
    async fn deliveries_are_signed_with_the_stored_secret() {
        let store = NotesStore::open(":memory:").await.unwrap();
        let alice = caller("alice", ["webhooks:write"]);
        let id = store
            .add_webhook(
                &alice,
                "https://hooks.example.com/in",
                SecretString::new("key".into()),
            )
            .await
            .unwrap();
        let (url, signature) = store
            .sign_delivery(&alice, id, b"The quick brown fox jumps over the lazy dog")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(url, "https://hooks.example.com/in");
        // The known answer for HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            signature,
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert!(
            store
                .sign_delivery(&alice, id + 1, b"x")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .sign_delivery(&caller("bob", ["webhooks:write"]), id, b"x")
                .await
                .unwrap()
                .is_none(),
            "not bob's webhook"
        );
        assert!(
            store
                .sign_delivery(
                    &mcp_secure::testing::as_caller(
                        alice
                            .clone()
                            .with_issuer("https://auth.example.com")
                            .unwrap()
                    ),
                    id,
                    b"x"
                )
                .await
                .unwrap()
                .is_none(),
            "not the webhook of another issuer's alice"
        );
    }

    #[tokio::test]
    async fn notes_are_kept_per_tenant_too() {
        let store = NotesStore::open(":memory:").await.unwrap();
        let alice = caller("alice", ["notes:write"]);
        let as_caller = mcp_secure::testing::as_caller;
        let at_acme = as_caller(alice.clone().with_tenant("acme").unwrap());
        let at_globex = as_caller(alice.clone().with_tenant("globex").unwrap());
        let note = store
            .create(&at_acme, "plans".into(), String::new(), Vec::new())
            .await
            .unwrap();
        assert_eq!(store.get(&at_acme, note.id).await.unwrap().title, "plans");
        for elsewhere in [&at_globex, &alice] {
            assert_eq!(
                store.get(elsewhere, note.id).await.unwrap_err().code(),
                "not_found"
            );
            assert_eq!(
                store.delete(elsewhere, note.id).await.unwrap_err().code(),
                "not_found"
            );
            let found = store
                .search(elsewhere, "plans", SortColumn::Title, 10, 0)
                .await
                .unwrap();
            assert!(found.is_empty());
        }
        assert_eq!(
            store
                .search(&at_acme, "plans", SortColumn::Title, 10, 0)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn notes_are_scoped_to_their_owner() {
        let store = NotesStore::open(":memory:").await.unwrap();
        let (alice, bob) = (
            caller("alice", ["notes:write"]),
            caller("bob", ["notes:write"]),
        );
        let note = store
            .create(
                &alice,
                "Groceries 100%".into(),
                "milk_eggs".into(),
                vec!["home".into()],
            )
            .await
            .unwrap();
        assert_eq!(store.get(&alice, note.id).await.unwrap().tags, ["home"]);
        assert_eq!(
            store.get(&bob, note.id).await.unwrap_err().code(),
            "not_found"
        );
        assert_eq!(
            store.delete(&bob, note.id).await.unwrap_err().code(),
            "not_found"
        );
        assert_eq!(
            store
                .search(&alice, "100%", SortColumn::Title, 10, 0)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store
                .search(&alice, "%", SortColumn::Title, 10, 0)
                .await
                .unwrap()
                .len(),
            1,
            "% only matches a %"
        );
        assert_eq!(
            store
                .search(&alice, "_", SortColumn::Created, 10, 0)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store
                .search(&alice, "x_y", SortColumn::Created, 10, 0)
                .await
                .unwrap()
                .len(),
            0
        );
        assert!(
            store
                .search(&bob, "", SortColumn::Title, 10, 0)
                .await
                .unwrap()
                .is_empty()
        );
        store.delete(&alice, note.id).await.unwrap();
        assert_eq!(
            store.get(&alice, note.id).await.unwrap_err().code(),
            "not_found"
        );
    }
}
