//! The HTML template scanner: follows the template through the HTML tokenizer's states far
//! enough to know, for each `{placeholder}`, the context its value lands in, and refuses the
//! contexts where escaping cannot make a value safe (scripts, styles, comments, event handlers,
//! unquoted attributes, tag and attribute names).

use crate::lexical::{split_placeholder, utf8_width};

/// Where a placeholder's value lands; each context has its own escaping (and its own trait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Element content: `<p>{x}</p>`.
    Text,
    /// A quoted attribute value that is not a URL: `<p title="{x}">`.
    Attr,
    /// The start of a URL attribute: `<a href="{url}">`; only a checked URL type fits.
    Url,
    /// Later in a URL attribute whose scheme is already fixed: `<a href="/notes/{id}">`; the
    /// value is percent-encoded.
    UrlPart,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Markup, with `{{`/`}}` already turned into `{`/`}`.
    Text(String),
    /// A `{...}` placeholder: its expression text and context.
    Placeholder { expr: String, context: Context },
}

/// Elements whose content is not HTML: nothing may be interpolated inside them.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// Elements that load or change code or navigation: no interpolation in their attributes.
const CODE_ELEMENTS: &[&str] = &[
    "script",
    "style",
    "link",
    "meta",
    "base",
    "object",
    "embed",
    "applet",
    "param",
    "animate",
    "set",
    "animatemotion",
    "animatetransform",
];

/// Attributes whose value is a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "cite",
    "data",
    "poster",
    "background",
    "longdesc",
    "manifest",
    "ping",
    "xlink:href",
    "codebase",
    "icon",
    "usemap",
    "lowsrc",
    "dynsrc",
    "archive",
    "classid",
    "xml:base",
];

#[derive(Debug, Clone, PartialEq)]
enum State {
    Text,
    /// Inside a raw-text element, until `</name`.
    RawText(String),
    Comment,
    /// `<!DOCTYPE …>`, `<?…>`: until `>`.
    Declaration,
    TagName,
    InTag,
    AttrName,
    AfterAttrName,
    BeforeValue,
    Value(u8),
    Unquoted,
}

/// The attribute value being scanned: what came before a placeholder decides its context.
#[derive(Default)]
struct Value {
    /// Literal text of the value so far.
    literal: String,
    /// Whether the value so far starts with a placeholder (a checked URL).
    starts_with_placeholder: bool,
    /// Whether anything (text or placeholder) came before.
    nonempty: bool,
}

/// Splits `template` into markup and placeholders with their contexts.
pub fn scan(template: &str) -> Result<Vec<Piece>, String> {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut state = State::Text;
    let mut tag = String::new();
    let mut closing = false;
    let mut attr = String::new();
    let mut value = Value::default();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if c == b'{' && next == Some(b'{') || c == b'}' && next == Some(b'}') {
            text.push(c as char);
            if let State::Value(_) = state {
                value.literal.push(c as char);
                value.nonempty = true;
            }
            i += 2;
            continue;
        }
        if c == b'}' {
            return Err("unmatched `}` in the template; write `}}` for a literal brace".into());
        }
        if c == b'{' {
            let close = template[i + 1..]
                .find('}')
                .ok_or("unclosed `{` in the template; write `{{` for a literal brace")?;
            let inner = &template[i + 1..i + 1 + close];
            let (expr, modifier) = split_placeholder(inner)?;
            if let Some(m) = modifier {
                return Err(format!(
                    "`{{{inner}}}`: html! placeholders take no modifier (`:{m}`); the place in the markup decides the escaping, and the value's type must fit it"
                ));
            }
            // `<{x}>` would let the value name a tag.
            let state_here =
                if state == State::Text && (text.ends_with('<') || text.ends_with("</")) {
                    &State::TagName
                } else {
                    &state
                };
            let context = context(state_here, &tag, &attr, &value, &expr)?;
            if let State::Value(_) = state {
                if !value.nonempty {
                    value.starts_with_placeholder = true;
                }
                value.nonempty = true;
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Placeholder { expr, context });
            i += close + 2;
            continue;
        }
        match &state {
            State::Text => {
                if c == b'<' {
                    if template[i..].starts_with("<!--") {
                        state = State::Comment;
                    } else if next == Some(b'!') || next == Some(b'?') {
                        state = State::Declaration;
                    } else if next == Some(b'/')
                        && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)
                    {
                        state = State::TagName;
                        closing = true;
                        tag.clear();
                        text.push_str("</");
                        i += 2;
                        continue;
                    } else if next.is_some_and(|n| n.is_ascii_alphabetic()) {
                        state = State::TagName;
                        closing = false;
                        tag.clear();
                    }
                }
            }
            State::RawText(name) => {
                if c == b'<'
                    && next == Some(b'/')
                    && template
                        .get(i + 2..i + 2 + name.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(name))
                    && bytes
                        .get(i + 2 + name.len())
                        .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
                {
                    state = State::TagName;
                    closing = true;
                    tag.clear();
                    text.push_str("</");
                    i += 2;
                    continue;
                }
            }
            State::Comment => {
                if template[i..].starts_with("-->") {
                    text.push_str("-->");
                    i += 3;
                    state = State::Text;
                    continue;
                }
            }
            State::Declaration => {
                if c == b'>' {
                    state = State::Text;
                }
            }
            State::TagName => {
                if c.is_ascii_whitespace() || c == b'/' {
                    state = State::InTag;
                } else if c == b'>' {
                    state = end_of_tag(&tag, closing);
                } else {
                    tag.push(c.to_ascii_lowercase() as char);
                }
            }
            State::InTag => {
                if c == b'>' {
                    state = end_of_tag(&tag, closing);
                } else if !(c.is_ascii_whitespace() || c == b'/') {
                    state = State::AttrName;
                    attr.clear();
                    attr.push(c.to_ascii_lowercase() as char);
                }
            }
            State::AttrName => {
                if c == b'=' {
                    state = State::BeforeValue;
                } else if c == b'>' {
                    state = end_of_tag(&tag, closing);
                } else if c.is_ascii_whitespace() || c == b'/' {
                    state = State::AfterAttrName;
                } else {
                    attr.push(c.to_ascii_lowercase() as char);
                }
            }
            State::AfterAttrName => {
                if c == b'=' {
                    state = State::BeforeValue;
                } else if c == b'>' {
                    state = end_of_tag(&tag, closing);
                } else if !(c.is_ascii_whitespace() || c == b'/') {
                    state = State::AttrName;
                    attr.clear();
                    attr.push(c.to_ascii_lowercase() as char);
                }
            }
            State::BeforeValue => {
                if c == b'"' || c == b'\'' {
                    state = State::Value(c);
                    value = Value::default();
                } else if c == b'>' {
                    state = end_of_tag(&tag, closing);
                } else if !c.is_ascii_whitespace() {
                    state = State::Unquoted;
                }
            }
            State::Value(quote) => {
                if c == *quote {
                    state = State::InTag;
                } else {
                    value.nonempty = true;
                    let width = utf8_width(c);
                    value.literal.push_str(&template[i..i + width]);
                }
            }
            State::Unquoted => {
                if c.is_ascii_whitespace() {
                    state = State::InTag;
                } else if c == b'>' {
                    state = end_of_tag(&tag, closing);
                }
            }
        }
        // Multi-byte characters are copied whole.
        let width = utf8_width(c);
        text.push_str(&template[i..i + width]);
        i += width;
    }
    let open = match state {
        State::Text => None,
        State::RawText(name) => Some(format!("inside `<{name}>`")),
        State::Comment => Some("inside a comment".into()),
        State::Declaration => Some("inside `<!…>`".into()),
        State::Value(_) | State::Unquoted => Some(format!("inside the value of `{attr}`")),
        _ => Some(format!("inside the `<{tag}>` tag")),
    };
    if let Some(place) = open {
        return Err(format!(
            "the template ends {place}; close it in the same html! (templates are joined as complete pieces, so the next one cannot change what an interpolation means)"
        ));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn end_of_tag(tag: &str, closing: bool) -> State {
    if !closing && RAW_TEXT.contains(&tag) {
        State::RawText(tag.to_owned())
    } else {
        State::Text
    }
}

/// The context of a placeholder in `state`, or why there is none that is safe.
fn context(
    state: &State,
    tag: &str,
    attr: &str,
    value: &Value,
    expr: &str,
) -> Result<Context, String> {
    let p = format!("`{{{expr}}}`");
    match state {
        State::Text => Ok(Context::Text),
        State::RawText(name) if name == "script" => Err(format!(
            "{p} is inside `<script>`, where text is code and escaping cannot make it data; put the value in an attribute (`<div data-note=\"{{{expr}}}\">`) and read it from the script"
        )),
        State::RawText(name) if name == "style" => Err(format!(
            "{p} is inside `<style>`, where text is CSS and escaping cannot make it data; choose among fixed classes in the template instead"
        )),
        State::RawText(name) => Err(format!(
            "{p} is inside `<{name}>`, whose content is not parsed as HTML, so escaping does not apply; move it outside"
        )),
        State::Comment => Err(format!(
            "{p} is inside an HTML comment, where `-->` in the value would end it; move it out of the comment"
        )),
        State::Declaration => Err(format!("{p} is inside `<!…>`; move it out")),
        State::TagName => Err(format!(
            "{p} would name a tag; write the tag in the template and interpolate only text or attribute values"
        )),
        State::InTag | State::AttrName | State::AfterAttrName => Err(format!(
            "{p} would write attribute names; write the attribute in the template with a quoted value: `name=\"{{{expr}}}\"`"
        )),
        State::BeforeValue | State::Unquoted => Err(format!(
            "{p} is an unquoted attribute value, which a space in the value would end; quote it: `{attr}=\"{{{expr}}}\"`"
        )),
        State::Value(_) => {
            if CODE_ELEMENTS.contains(&tag) {
                return Err(format!(
                    "{p} is in an attribute of `<{tag}>`, which loads or changes code; such tags take no interpolation, write them in full in the template"
                ));
            }
            if attr.starts_with("on") {
                return Err(format!(
                    "{p} is in the event handler `{attr}`, whose value is script; attach handlers in a script file and pass data with a `data-` attribute"
                ));
            }
            match attr {
                "style" => {
                    return Err(format!(
                        "{p} is in a `style` attribute, whose value is CSS; choose among fixed classes (`class=\"{{{expr}}}\"`) instead"
                    ));
                }
                "srcdoc" => {
                    return Err(format!(
                        "{p} is in `srcdoc`, whose value is a whole HTML document; render it with its own html! and serve it separately"
                    ));
                }
                "srcset" | "imagesrcset" => {
                    return Err(format!(
                        "{p} is in `{attr}`, a list of URLs html! does not check; use `src=\"{{{expr}}}\"` with a `SafeUrl`"
                    ));
                }
                _ => {}
            }
            if !URL_ATTRIBUTES.contains(&attr) {
                Ok(Context::Attr)
            } else if !value.nonempty {
                Ok(Context::Url)
            } else if value.starts_with_placeholder || value.literal.contains(['/', '?', '#', ':'])
            {
                Ok(Context::UrlPart)
            } else {
                Err(format!(
                    "{p} follows `{}` in the URL attribute `{attr}`, so it could complete a scheme such as `javascript:`; start the value with a fixed path or scheme (`{attr}=\"/notes/{{{expr}}}\"`) or make the whole value one `SafeUrl`",
                    value.literal
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contexts(template: &str) -> Vec<Context> {
        scan(template)
            .unwrap()
            .into_iter()
            .filter_map(|p| match p {
                Piece::Placeholder { context, .. } => Some(context),
                Piece::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn placeholders_get_their_context() {
        assert_eq!(
            contexts(
                r#"<p class="note {kind}" title='{title}'>{body}</p><a href="{url}">x</a><a href="/n/{id}?q={q}">y</a><img src="{base}/{file}" alt="">"#
            ),
            [
                Context::Attr,
                Context::Attr,
                Context::Text,
                Context::Url,
                Context::UrlPart,
                Context::UrlPart,
                Context::Url,
                Context::UrlPart,
            ]
        );
        assert_eq!(
            contexts("<textarea>{t}</textarea><title>{t}</title>a < b {t}"),
            [Context::Text; 3]
        );
        assert_eq!(
            contexts("<script>let a = {{}};</script><p>{x}</p>"),
            [Context::Text],
            "after </script> is text again"
        );
        assert_eq!(
            scan("<b>{{x}}</b>").unwrap(),
            vec![Piece::Text("<b>{x}</b>".into())]
        );
        assert_eq!(contexts("<!-- c --><p>é {x}</p>"), [Context::Text]);
    }

    #[test]
    fn unsafe_contexts_are_refused() {
        for (template, expected) in [
            ("<script>var x = {x};</script>", "inside `<script>`"),
            ("<SCRIPT>{x}</SCRIPT>", "inside `<script>`"),
            ("<style>p {{ color: {c} }}</style>", "inside `<style>`"),
            ("<noscript>{x}</noscript>", "inside `<noscript>`"),
            ("<!-- {x} -->", "comment"),
            ("<{tag}>", "name a tag"),
            ("</{tag}>", "name a tag"),
            ("<p {attrs}>", "attribute names"),
            ("<p class={x}>", "unquoted"),
            ("<p onclick=\"go({x})\">", "event handler"),
            ("<p ONMOUSEOVER='{x}'>", "event handler"),
            ("<p style=\"color: {c}\">", "`style` attribute"),
            ("<iframe srcdoc=\"{x}\"></iframe>", "srcdoc"),
            ("<img srcset=\"{x}\">", "srcset"),
            ("<script src=\"{x}\"></script>", "loads or changes code"),
            (
                "<meta http-equiv=refresh content=\"0;url={x}\">",
                "loads or changes code",
            ),
            ("<a href=\"java{x}\">", "could complete a scheme"),
            ("<p>{x:raw}</p>", "no modifier"),
            ("<p>{}</p>", "empty placeholder"),
            ("<p>{x</p>", "unclosed `{`"),
            ("<p>}</p>", "unmatched `}`"),
            ("<p title=\"x", "ends inside the value of `title`"),
            ("<p", "ends inside the `<p>` tag"),
            ("<script>", "ends inside `<script>`"),
            ("<!-- ", "ends inside a comment"),
        ] {
            let err = scan(template).unwrap_err();
            assert!(err.contains(expected), "{template}: {err}");
        }
    }
}
