use mcp_secure::html::html;

fn main() {
    let x = "note";
    let _ = html!("<p>{}</p>");
    let _ = html!("<p>{x:raw}</p>");
    let _ = html!("<p>{x}</p>", unused = 5);
    let _ = html!("<p>{x +}</p>");
    let _ = html!("<p>{x</p>");
}
