use mcp_secure::html::{Html, html};
use mcp_secure::secret::SecretString;

struct Note;

fn main() {
    let link = String::from("javascript:alert(1)");
    let _ = html!("<a href=\"{link}\">open</a>");
    let fragment: Html = html!("<b>bold</b>");
    let _ = html!("<p title=\"{fragment}\">note</p>");
    let secret = SecretString::new("hunter2".to_owned());
    let _ = html!("<p>{secret}</p>");
    let _ = html!("<p>{note}</p>", note = Note);
}
