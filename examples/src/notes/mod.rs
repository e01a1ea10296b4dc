//! The notes service of `notes-server`: every tool states who may call it, how often, and what
//! input it accepts.

mod store;

use std::io::Read;

use mcp_secure::{
    auth::{Attribute, AttributeKind, Attributes},
    policy::{Policies, PolicyError, PolicyResource},
    prelude::*,
};
use rmcp::{
    RoleServer,
    model::{Implementation, ServerCapabilities, ServerConfig},
    service::RequestContext,
};
use serde::Serialize;

pub use store::{Note, NotesStore, SortColumn};

/// The notes server: one value, cloned for each MCP session, sharing one [`NotesStore`] and one
/// router.
#[derive(Clone)]
pub struct NotesServer {
    store: NotesStore,
    tools: Tools<Self>,
}

impl NotesServer {
    /// The store the notes are kept in.
    pub fn store(&self) -> &NotesStore {
        &self.store
    }

    /// A server over `store`.
    pub fn new(store: NotesStore) -> Self {
        Self {
            store,
            tools: Self::tools(),
        }
    }

    /// The same server, listing to each caller only the tools its scopes allow
    /// (`--list-by-authorization`).
    pub fn listed_by_authorization(mut self) -> Self {
        self.tools = self.tools.listed_by_authorization();
        self
    }

    /// Its tools.
    pub fn tools_of(&self) -> &Tools<Self> {
        &self.tools
    }
}

/// Input of `notes_create`.
#[derive(SecureInput)]
pub struct CreateNote {
    /// The note's title: 1 to 200 characters, no control characters.
    #[mcp(length(min = 1, max = 200), no_control)]
    pub title: String,
    /// The note's text, at most 10 000 characters.
    #[mcp(length(max = 10_000))]
    pub body: String,
    /// Up to 10 tags of lowercase letters, digits and `-`.
    #[mcp(items(max = 10), each(regex = r"^[a-z0-9-]{1,32}$"))]
    pub tags: Option<Vec<String>>,
}

/// How `notes_search` orders its results.
#[derive(SecureInput, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// By title, A to Z.
    Title,
    /// Oldest first.
    Created,
}

/// Who is calling, as the server sees it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct WhoAmI {
    /// Who vouched for the caller: `api-key`, the token issuer's URL, or `anonymous`.
    pub issuer: String,
    /// The caller's subject, `anonymous` without credentials.
    pub subject: String,
    /// The scopes the caller was granted.
    pub scopes: Vec<String>,
}

/// A webhook, as returned: never with its secret.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where events are posted.
    pub url: String,
}

/// A list of notes.
#[derive(Serialize, schemars::JsonSchema)]
pub struct NoteList {
    /// The matching notes.
    pub notes: Vec<Note>,
}

/// What `notes_delete` did.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Deleted {
    /// The id of the deleted note.
    pub deleted: i64,
}

#[mcp_tools]
impl NotesServer {
    /// Who am I? Returns the caller's issuer, subject and scopes.
    #[mcp_tool(public, rate = "10/s", idempotent)]
    async fn whoami(&self, caller: Principal) -> Json<WhoAmI> {
        Json(WhoAmI {
            issuer: caller.issuer().to_owned(),
            subject: caller.subject().to_owned(),
            scopes: caller.scopes().to_vec(),
        })
    }

    /// Create a note owned by the caller.
    #[mcp_tool(scope = "notes:write", rate = "30/min")]
    async fn notes_create(
        &self,
        input: CreateNote,
        caller: Principal,
    ) -> Result<Json<Note>, ToolError> {
        Ok(Json(
            self.store
                .create(
                    &caller,
                    input.title,
                    input.body,
                    input.tags.unwrap_or_default(),
                )
                .await?,
        ))
    }

    /// Search the caller's notes: `query` is matched literally (case-insensitive) in titles and
    /// bodies.
    #[mcp_tool(scope = "notes:read", rate = "10/s")]
    async fn notes_search(
        &self,
        /// Text to find, matched literally.
        #[mcp(length(max = 200))]
        query: String,
        /// `title` (A to Z) or `created` (oldest first).
        sort: SortBy,
        /// How many notes to return at most.
        #[mcp(range(min = 1, max = 100))]
        limit: u32,
        caller: Principal,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<NoteList>, ToolError> {
        let column = match sort {
            SortBy::Title => SortColumn::Title,
            SortBy::Created => SortColumn::Created,
        };
        // Every row shown passes the rows' rules, as in `notes_get`; one that does not is left
        // out (and audited). Left out before the limit applies, page by page: a limit applied
        // first would answer, by what it leaves, what the rows left out contain.
        let mut notes = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .search(&caller, &query, column, limit, offset)
                .await?;
            let last = page.len() < limit as usize;
            offset = offset.saturating_add(limit);
            for note in page {
                if notes.len() < limit as usize
                    && mcp_secure::policy::authorize(&ctx, &caller, &note).is_ok()
                {
                    notes.push(note);
                }
            }
            if last || notes.len() == limit as usize {
                break;
            }
        }
        Ok(Json(NoteList { notes }))
    }

    /// Get one of the caller's notes by id.
    #[mcp_tool(scope = "notes:read", rate = "20/s")]
    async fn notes_get(
        &self,
        #[mcp(range(min = 1))] id: i64,
        caller: Principal,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Note>, ToolError> {
        let note = self.store.get(&caller, id).await?;
        // The row's own rules (`confidential-needs-clearance`).
        mcp_secure::policy::authorize(&ctx, &caller, &note)?;
        Ok(Json(note))
    }

    /// Replace the title and body of one of the caller's notes.
    #[mcp_tool(scope = "notes:write", rate = "30/min", idempotent)]
    async fn notes_update(
        &self,
        #[mcp(range(min = 1))] id: i64,
        /// The new title: 1 to 200 characters, no control characters.
        #[mcp(length(min = 1, max = 200), no_control)]
        title: String,
        /// The new text, at most 10 000 characters.
        #[mcp(length(max = 10_000))]
        body: String,
        caller: Principal,
    ) -> Result<Json<Note>, ToolError> {
        self.store.update(&caller, id, title, body).await.map(Json)
    }

    /// Delete one of the caller's notes.
    #[mcp_tool(scope = "notes:write", rate = "10/s", destructive, idempotent)]
    async fn notes_delete(
        &self,
        #[mcp(range(min = 1))] id: i64,
        caller: Principal,
    ) -> Result<Json<Deleted>, ToolError> {
        self.store.delete(&caller, id).await?;
        Ok(Json(Deleted { deleted: id }))
    }

    /// Register a webhook: an https URL on a public host, and the secret that signs its
    /// deliveries. The secret is stored and never returned.
    #[mcp_tool(scope = "webhooks:write", rate = "10/min")]
    async fn webhook_register(
        &self,
        /// Where to post events: https, not a loopback, private or link-local address.
        #[mcp(url(schemes = ["https"]))]
        url: String,
        /// The signing secret (write-only).
        #[mcp(length(min = 16, max = 256))]
        secret: SecretString,
        caller: Principal,
    ) -> Result<Json<Webhook>, ToolError> {
        let id = self.store.add_webhook(&caller, &url, secret).await?;
        Ok(Json(Webhook { id, url }))
    }

    /// Read a UTF-8 text file under the server's files directory, refusing files larger than
    /// `max_bytes`.
    #[mcp_tool(scope = "files:read", rate = "5/s", max_output = "2MiB")]
    async fn files_read(
        &self,
        /// The file, relative to the files directory.
        #[mcp(path(within = "files"))]
        path: SafePath,
        /// Refuse files larger than this many bytes.
        #[mcp(range(min = 1, max = 1_048_576))]
        max_bytes: u32,
    ) -> Result<String, ToolError> {
        // Opened beneath the files directory by the kernel; a FIFO or a device is refused.
        let file = path.open()?;
        let shown = path.as_str().to_owned();
        let read = tokio::task::spawn_blocking(move || read_capped(file, max_bytes as u64))
            .await
            .map_err(ToolError::internal)?;
        match read {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(ToolError::new(
                "too_large",
                format!("`{shown}` is larger than max_bytes ({max_bytes})"),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(ToolError::new(
                "not_text",
                format!("`{shown}` is not a UTF-8 text file"),
            )),
            Err(e) => Err(ToolError::internal(format!("reading {shown}: {e}"))),
        }
    }
}

/// The file's text, `None` if it has more than `max` bytes.
fn read_capped(file: std::fs::File, max: u64) -> std::io::Result<Option<String>> {
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Ok(None);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| std::io::ErrorKind::InvalidData.into())
}

/// A note, as the policies see it: `resource is Note`, with its tags.
impl PolicyResource for Note {
    const TYPE: &'static str = "Note";
    const SHAPE: &'static [(&'static str, AttributeKind)] = &[("tags", AttributeKind::Texts)];
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn attributes(&self) -> Vec<(&'static str, Attribute)> {
        vec![("tags", Attribute::Texts(self.tags.clone()))]
    }
}

/// The attributes callers' tokens may carry, read from the claims of the same names: `roles`
/// (`token --role`) and `home` (`token --home`), the directory under `home/` a caller owns.
pub fn attributes() -> Attributes {
    Attributes::new()
        .with("roles", AttributeKind::Texts)
        .and_then(|a| a.with("home", AttributeKind::Text))
        .expect("valid attribute names")
}

/// The committed policies (`examples/policies/notes.cedar`), the default of `--policy`.
pub const DEFAULT_POLICIES: &str = include_str!("../../policies/notes.cedar");

/// The policies in `cedar`, checked against the notes server's tools and callers.
pub fn policies(cedar: &str) -> Result<Policies, PolicyError> {
    Policies::builder(&NotesServer::tools())
        .attributes(&attributes())
        .resource::<Note>()
        .build(cedar)
}

mcp_secure::policy_test!(
    the_committed_policies_fit_the_tools,
    NotesServer::tools(),
    attributes(),
    "policies/notes.cedar",
    Note
);

/// The notes server's policy manifest (`notes-server manifest`), with the committed policies.
pub fn manifest() -> mcp_secure::manifest::Manifest {
    let manifest = mcp_secure::manifest::Manifest::new("notes-server", env!("CARGO_PKG_VERSION"))
        .with_tools(&NotesServer::tools());
    match policies(DEFAULT_POLICIES) {
        Ok(policies) => manifest.with_policies(&policies),
        // The test above fails first; the manifest then says nothing it cannot check.
        Err(_) => manifest,
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for NotesServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("notes-server", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "A notes service. Every tool lists its required scope and rate under _meta; denials come back as tool errors with a stable code.",
            )
    }
}
