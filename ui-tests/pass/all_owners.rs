// A tool granted every owner's rows says why, and the manifest shows it; its queries take the
// grant with `all_owners = &...`.
use mcp_secure::{manifest::Manifest, prelude::*, sql::{AllOwners, sql}};

mcp_secure::scopes! {
    /// Support staff.
    "notes:support",
}

#[derive(Clone)]
struct Support;

#[mcp_tools]
impl Support {
    /// Reads any caller's note by its id, for support staff.
    #[mcp_tool(scope = "notes:support", rate = "1/s", all_owners = "support reads any note by its id")]
    async fn note_by_id(&self, #[mcp(range(min = 1))] id: i64, every: AllOwners) -> String {
        let q = sql!("SELECT title FROM notes WHERE id = {id}", all_owners = &every);
        assert!(q.render(mcp_secure::sql::Dialect::Sqlite).is_ok());
        every.why().to_owned()
    }
}

fn main() {
    let json = Manifest::new("support", "1").with_tools(&Support::tools()).to_json();
    assert_eq!(json["tools"][0]["policy"]["all_owners"], "support reads any note by its id");
}
