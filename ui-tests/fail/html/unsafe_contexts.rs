use mcp_secure::html::html;

fn main() {
    let x = "alert(1)";
    let _ = html!("<script>var note = {x};</script>");
    let _ = html!("<style>p {{ color: {x} }}</style>");
    let _ = html!("<!-- {x} -->");
    let _ = html!("<p onclick=\"show({x})\">note</p>");
    let _ = html!("<p style=\"color: {x}\">note</p>");
    let _ = html!("<p class={x}>note</p>");
    let _ = html!("<{x}>note</p>");
    let _ = html!("<p {x}>note</p>");
    let _ = html!("<script src=\"{x}\"></script>");
    let _ = html!("<a href=\"java{x}\">note</a>");
    let _ = html!("<img srcset=\"{x}\">");
    let _ = html!("<p title=\"{x}>note</p>");
}
