//! `html!` against the usual XSS payloads, checked with a real HTML5 parser (html5ever, through
//! `scraper`): whatever the payload, the document has the template's elements and no others, no
//! event handler, no script, and every value reads back exactly as given.

use mcp_secure::html::{Html, SafeUrl, html};
use scraper::{Html as Document, Selector};

const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><script>alert(1)</script>",
    "'><script>alert(1)</script>",
    "' onmouseover='alert(1)",
    "\" onfocus=\"alert(1)\" autofocus=\"",
    "\" onerror=alert(1) x=\"",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</p></div><script>alert(1)</script>",
    "<!--",
    "-->",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<body onload=alert(1)>",
    "<style>*{background:url(javascript:alert(1))}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<form action=\"javascript:alert(1)\"><input type=submit>",
    "<input value=\"\" autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<object data=\"javascript:alert(1)\">",
    "<embed src=\"javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "`-alert(1)-`",
    "${alert(1)}",
    "{{constructor.constructor('alert(1)')()}}",
    "\u{ff1c}script\u{ff1e}alert(1)\u{ff1c}/script\u{ff1e}",
    "\u{202e}>tpircs<",
    "a\0<script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<SCRIPT SRC=//example.com/x.js></SCRIPT>",
    "<<script>alert(1);//<</script>",
    "\" style=\"background:url(javascript:alert(1))",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "/../../etc/passwd?x=1#frag",
];

fn page(p: &str) -> Html {
    let search = html!(r#"<a id="search" href="/search?q={p}&amp;page=1">search</a>"#);
    html!(
        r#"<div id="root"><p id="text">{p}</p><span id="attr" title="{p}" data-x='{p}'>t</span><textarea id="area">{p}</textarea>{search}</div>"#
    )
}

fn decode_percent(s: &str) -> String {
    let mut bytes = Vec::new();
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex: String = [it.next().unwrap(), it.next().unwrap()]
                .iter()
                .map(|&c| c as char)
                .collect();
            bytes.push(u8::from_str_radix(&hex, 16).unwrap());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn one<'a>(doc: &'a Document, css: &str) -> scraper::ElementRef<'a> {
    let selector = Selector::parse(css).unwrap();
    let mut found = doc.select(&selector);
    let first = found.next().unwrap_or_else(|| panic!("{css} is missing"));
    assert!(found.next().is_none(), "{css} appears twice");
    first
}

#[test]
fn payloads_stay_text_in_every_context() {
    let all = Selector::parse("*").unwrap();
    assert_eq!(PAYLOADS.len(), 44, "SECURITY.md's figure");
    for p in PAYLOADS {
        let markup = page(p);
        let doc = Document::parse_document(markup.as_str());
        let elements: Vec<String> = doc
            .select(&all)
            .map(|e| e.value().name().to_owned())
            .collect();
        assert_eq!(
            elements,
            ["html", "head", "body", "div", "p", "span", "textarea", "a"],
            "{p:?}: the payload added or removed elements\n{markup}"
        );
        for element in doc.select(&all) {
            for (name, _) in element.value().attrs() {
                assert!(
                    !name.starts_with("on") && name != "style" && name != "autofocus",
                    "{p:?}: attribute {name} injected"
                );
            }
        }
        // What the user reads is exactly what was given (the parser turns NUL into U+FFFD,
        // and so does the escaping).
        let expected = p.replace('\0', "\u{fffd}");
        assert_eq!(one(&doc, "#text").text().collect::<String>(), expected);
        assert_eq!(one(&doc, "#attr").attr("title"), Some(expected.as_str()));
        assert_eq!(one(&doc, "#attr").attr("data-x"), Some(expected.as_str()));
        assert_eq!(one(&doc, "#area").text().collect::<String>(), expected);
        let href = one(&doc, "#search").attr("href").unwrap();
        let query = href
            .strip_prefix("/search?q=")
            .and_then(|h| h.strip_suffix("&page=1"))
            .unwrap_or_else(|| panic!("{p:?}: the URL's shape changed: {href}"));
        assert!(
            query
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{p:?}: {query}"
        );
        assert_eq!(decode_percent(query), *p, "the URL part round-trips");
    }
}

#[test]
fn urls_that_run_code_are_refused() {
    for evil in [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "java\0script:alert(1)",
        " javascript:alert(1)",
        "\u{1}javascript:alert(1)",
        "javascript\u{a0}:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "vbscript:msgbox(1)",
        "livescript:alert(1)",
        "file:///etc/passwd",
        "blob:https://example.com/uuid",
        "\\\\evil.example.com\\share",
        "/\\evil.example.com",
    ] {
        assert!(SafeUrl::parse(evil).is_err(), "{evil:?} accepted");
    }
    // An entity is not decoded: the `&` is escaped, so the browser sees a relative URL.
    let entity = SafeUrl::parse("javascript&colon;alert(1)").unwrap();
    let markup = html!(r#"<a href="{entity}">x</a>"#);
    let doc = Document::parse_fragment(markup.as_str());
    assert_eq!(
        one(&doc, "a").attr("href"),
        Some("javascript&colon;alert(1)")
    );
    let fine = SafeUrl::parse("https://example.com/?a=1&b=\"2\"").unwrap();
    let markup = html!(r#"<a href="{fine}">x</a>"#);
    let doc = Document::parse_fragment(markup.as_str());
    assert_eq!(
        one(&doc, "a").attr("href"),
        Some("https://example.com/?a=1&b=\"2\"")
    );
}

#[test]
fn composition_keeps_fragments_escaped() {
    let items = ["<b>1</b>", "2 & 3"];
    let list = Html::join(items.map(|i| html!("<li>{i}</li>")), &Html::default());
    let markup = html!("<ul>{list}</ul><p>{n} items</p>", n = items.len());
    assert_eq!(
        markup.as_str(),
        "<ul><li>&lt;b&gt;1&lt;/b&gt;</li><li>2 &amp; 3</li></ul><p>2 items</p>"
    );
    assert_eq!(
        serde_json::to_string(&markup).unwrap(),
        serde_json::to_string(markup.as_str()).unwrap()
    );
}
