// What `sql!` generates cannot carry a caller's text: a template is an associated constant, and
// text made at run time is not a constant.
fn main() {
    let table = String::from("notes; DROP TABLE notes");
    let text: &'static str = Box::leak(format!("DELETE FROM {table}").into_boxed_str());

    struct Hand;
    impl mcp_secure::__private::sql::Template for Hand {
        const TEMPLATE: &'static mcp_secure::__private::sql::SqlTemplate =
            &mcp_secure::__private::sql::SqlTemplate {
                slots: &[mcp_secure::__private::sql::SqlSlot::Text(text)],
                text: ["", "", ""],
            };
    }
    let _ = mcp_secure::__private::sql::template::<Hand>(Vec::new());
    let _ = text;
}
