use mcp_secure::html::html;

fn main() {
    let name = String::from("<b>");
    let template = format!("<p>{name}</p>");
    let _ = html!(template);
    let _ = html!(format!("<p>{name}</p>"));
    let _ = html!(concat!("<p>", "x", "</p>"));
}
