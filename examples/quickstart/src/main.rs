use std::sync::{Arc, Mutex};

use mcp_secure::{audit::JsonLinesSink, auth::ApiKeys, http::Endpoint, prelude::*};

scopes! {
    /// Read the caller's tickets.
    "tickets:read",
    /// Open tickets.
    "tickets:write" => implies ["tickets:read"],
}

#[derive(SecureInput)]
pub struct NewTicket {
    /// A one-line summary.
    #[mcp(length(min = 1, max = 120), no_control)]
    pub title: String,
}

#[derive(Clone)]
struct Tickets {
    tools: Tools<Self>,
    open: Arc<Mutex<Vec<(String, String)>>>, // (owner, title)
}

#[mcp_tools]
impl Tickets {
    /// Open a ticket owned by the caller.
    #[mcp_tool(scope = "tickets:write", rate = "10/min")]
    async fn tickets_open(&self, input: NewTicket, caller: Principal) -> String {
        let mut open = self.open.lock().unwrap();
        open.push((caller.id().to_owned(), input.title));
        format!("ticket {} opened", open.len())
    }

    /// The titles of the caller's tickets, one per line.
    #[mcp_tool(scope = "tickets:read", rate = "5/s")]
    async fn tickets_mine(&self, caller: Principal) -> String {
        let open = self.open.lock().unwrap();
        let mine = open.iter().filter(|(owner, _)| owner == caller.id());
        mine.map(|(_, title)| title.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Tickets {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = ApiKeys::parse(&std::env::var("TICKETS_API_KEYS")?)?;
    let security = Security::builder().audit_sink(JsonLinesSink::stderr());
    let server = Tickets {
        tools: Tickets::tools(),
        open: Arc::default(),
    };
    if std::env::args().nth(1).as_deref() == Some("stdio") {
        // Over stdio the caller is whoever holds TICKETS_API_KEY, checked once at start-up.
        let caller = keys
            .verify(&std::env::var("TICKETS_API_KEY")?)
            .ok_or("unknown key")?;
        let security = security.local_principal(caller).build()?;
        mcp_secure::serve::stdio(server, security)
            .await?
            .waiting()
            .await?;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    Endpoint::new(
        "http://127.0.0.1:8080/mcp",
        server.clone(),
        &server.tools,
        security.build()?,
    )
    .verifier(keys)
    .serve(listener, async {
        tokio::signal::ctrl_c().await.unwrap_or(())
    })
    .await?;
    Ok(())
}
