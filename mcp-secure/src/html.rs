//! HTML that cannot be injected into: [`Html`], built by the `html!` macro from a string literal
//! it checked at compile time, with every `{value}` escaped for the place it lands.
//!
//! ```
//! use mcp_secure::html::{Html, SafeUrl, html};
//!
//! let title = "<script>alert(1)</script>";
//! let id = 7;
//! let site = SafeUrl::parse("https://example.com/about").unwrap();
//! let page: Html = html!(
//!     r#"<article title="{title}"><h1>{title}</h1><a href="/notes/{id}">open</a> <a href="{site}">about</a></article>"#
//! );
//! assert_eq!(
//!     page.as_str(),
//!     r#"<article title="&lt;script&gt;alert(1)&lt;/script&gt;"><h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1><a href="/notes/7">open</a> <a href="https://example.com/about">about</a></article>"#
//! );
//! assert!(SafeUrl::parse("javascript:alert(1)").is_err());
//! ```
//!
//! | where | example | the value | written as |
//! |---|---|---|---|
//! | element text | `<p>{x}</p>` | [`HtmlText`]: strings, numbers, `char`, `bool`, or [`Html`] (inserted as markup) | `&`, `<`, `>`, `"`, `'` escaped |
//! | a quoted attribute | `<p title="{x}">` | [`HtmlAttr`]: strings, numbers, `char`, `bool` | the same escaping |
//! | the start of a URL attribute (`href`, `src`, `action`, …) | `<a href="{url}">` | [`HtmlUrl`]: only a [`SafeUrl`] | escaped |
//! | later in a URL attribute | `<a href="/notes/{id}">` | [`HtmlUrlPart`]: strings, numbers | percent-encoded, then escaped |
//!
//! What does not compile: a template that is not a string literal; a placeholder inside
//! `<script>`, `<style>` (and other raw-text elements), a comment, an event handler (`on…`), a
//! `style`, `srcdoc` or `srcset` attribute, any attribute of `<script>`, `<link>`, `<meta>`,
//! `<base>`, `<object>`, `<embed>`; an unquoted attribute value; a tag or attribute name; a URL
//! attribute whose literal start could complete a scheme (`href="java{x}"`); a template that
//! ends inside a tag, comment or script; a value whose type does not fit its place (a `String`
//! where a URL starts, [`Html`] in an attribute, a secret anywhere).
//!
//! `html!` templates compose: an [`Html`] value in a text position is inserted as markup, and
//! [`Html::push`] and [`Html::join`] append complete fragments.

use std::fmt;

pub use mcp_secure_macros::html;

/// Markup built by `html!` (or, loudly, by [`Html::dangerously_trust_unescaped`]): every value
/// in it was escaped for its place.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Html(String);

impl Html {
    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup, as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether there is no markup.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends another fragment.
    ///
    /// ```
    /// use mcp_secure::html::html;
    /// let mut list = html!("<ul>");
    /// for tag in ["a&b", "<i>"] {
    ///     list.push(html!("<li>{tag}</li>"));
    /// }
    /// list.push(html!("</ul>"));
    /// assert_eq!(list.as_str(), "<ul><li>a&amp;b</li><li>&lt;i&gt;</li></ul>");
    /// ```
    pub fn push(&mut self, other: Html) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }

    /// `items` one after the other with `separator` between them.
    ///
    /// ```
    /// use mcp_secure::html::{Html, html};
    /// let cells = Html::join(["x", "<y>"].map(|c| html!("<td>{c}</td>")), &html!("\n"));
    /// assert_eq!(html!("<tr>{cells}</tr>").as_str(), "<tr><td>x</td>\n<td>&lt;y&gt;</td></tr>");
    /// ```
    pub fn join(items: impl IntoIterator<Item = Html>, separator: &Html) -> Html {
        let mut out = Html::default();
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.0.push_str(&separator.0);
            }
            out.0.push_str(&item.0);
        }
        out
    }

    /// Takes `markup` as it is, **unescaped**: whoever calls this vouches that it contains no
    /// text from anyone but the server's authors (a sanitizer's output, a file shipped with
    /// the server). Every call is a place to audit; `html!` is the way to build markup.
    pub fn dangerously_trust_unescaped(markup: impl Into<String>) -> Html {
        Html(markup.into())
    }
}

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Html").field(&self.0).finish()
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Html> for String {
    fn from(html: Html) -> Self {
        html.0
    }
}

impl serde::Serialize for Html {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped (and NUL replaced): safe in element
/// text and in quoted attribute values.
pub fn escape_into(out: &mut String, text: &str) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let escaped = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            b'\0' => "\u{fffd}",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(escaped);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// A value that can stand in element text: `<p>{x}</p>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written as HTML text",
    label = "html! writes this value as element text",
    note = "element text takes strings, numbers, `char`, `bool`, or `Html` (inserted as markup); format other values into a `String` first"
)]
pub trait HtmlText {
    /// Appends the value, escaped.
    fn write_text(&self, out: &mut String);
}

/// A value that can stand in a quoted attribute: `<p title="{x}">`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written as an HTML attribute value",
    label = "html! writes this value into an attribute",
    note = "attribute values take strings, numbers, `char` and `bool`; markup (`Html`) has no place in an attribute"
)]
pub trait HtmlAttr {
    /// Appends the value, escaped.
    fn write_attr(&self, out: &mut String);
}

/// A value that can start a URL attribute: `<a href="{url}">`. Only [`SafeUrl`]: a string
/// there could be `javascript:…`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a checked URL",
    label = "this value starts a URL attribute, where a string could be `javascript:…`",
    note = "check it with `SafeUrl::parse(text)?` (http, https, mailto or a relative reference), or start the attribute with a fixed path in the template: `href=\"/notes/{{id}}\"`"
)]
pub trait HtmlUrl {
    /// Appends the URL, escaped.
    fn write_url(&self, out: &mut String);
}

/// A value inside a URL after its fixed start: `<a href="/notes/{id}">`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written into a URL",
    label = "html! percent-encodes this value into a URL",
    note = "URL parts take strings and numbers"
)]
pub trait HtmlUrlPart {
    /// Appends the value, percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`).
    fn write_url_part(&self, out: &mut String);
}

macro_rules! plain_values {
    ($($t:ty),*) => {$(
        impl HtmlText for $t {
            fn write_text(&self, out: &mut String) {
                escape_into(out, &self.to_string());
            }
        }
        impl HtmlAttr for $t {
            fn write_attr(&self, out: &mut String) {
                escape_into(out, &self.to_string());
            }
        }
        impl HtmlUrlPart for $t {
            fn write_url_part(&self, out: &mut String) {
                percent_encode_into(out, &self.to_string());
            }
        }
    )*};
}
plain_values!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char
);

macro_rules! text_values {
    ($($t:ty),*) => {$(
        impl HtmlText for $t {
            fn write_text(&self, out: &mut String) {
                escape_into(out, self);
            }
        }
        impl HtmlAttr for $t {
            fn write_attr(&self, out: &mut String) {
                escape_into(out, self);
            }
        }
        impl HtmlUrlPart for $t {
            fn write_url_part(&self, out: &mut String) {
                percent_encode_into(out, self);
            }
        }
    )*};
}
text_values!(str, String, std::borrow::Cow<'_, str>);

impl HtmlText for Html {
    fn write_text(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

impl<T: HtmlText + ?Sized> HtmlText for &T {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out);
    }
}

impl<T: HtmlAttr + ?Sized> HtmlAttr for &T {
    fn write_attr(&self, out: &mut String) {
        (**self).write_attr(out);
    }
}

impl<T: HtmlUrl + ?Sized> HtmlUrl for &T {
    fn write_url(&self, out: &mut String) {
        (**self).write_url(out);
    }
}

impl<T: HtmlUrlPart + ?Sized> HtmlUrlPart for &T {
    fn write_url_part(&self, out: &mut String) {
        (**self).write_url_part(out);
    }
}

fn percent_encode_into(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A URL that is safe to put where a browser follows or loads it: `http`, `https` or `mailto`
/// (or the schemes given to [`SafeUrl::parse_with_schemes`]), or a reference relative to the
/// page. `javascript:`, `data:`, `vbscript:` and every other scheme are refused, as are
/// controls, whitespace and backslashes (which browsers strip or rewrite before reading the
/// scheme).
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl(String);

/// Why a URL was refused. Its message never repeats the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlRefused {
    /// The scheme is not one of the allowed ones.
    Scheme,
    /// A control character, whitespace or backslash.
    Character,
    /// Not a valid URL, or longer than 8 KiB.
    Malformed,
}

impl fmt::Display for UrlRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlRefused::Scheme => "the URL's scheme is not allowed (http, https or mailto)",
            UrlRefused::Character => {
                "the URL contains a control character, whitespace or a backslash"
            }
            UrlRefused::Malformed => "the URL is malformed or longer than 8 KiB",
        })
    }
}

impl std::error::Error for UrlRefused {}

impl SafeUrl {
    /// Checks `url`: `http`, `https`, `mailto`, or relative.
    ///
    /// ```
    /// use mcp_secure::html::SafeUrl;
    /// assert!(SafeUrl::parse("https://example.com/a?b=c#d").is_ok());
    /// assert!(SafeUrl::parse("/notes/7").is_ok());
    /// for evil in ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:x", "data:text/html,<script>", "vbscript:x"] {
    ///     assert!(SafeUrl::parse(evil).is_err(), "{evil}");
    /// }
    /// ```
    pub fn parse(url: &str) -> Result<SafeUrl, UrlRefused> {
        Self::parse_with_schemes(url, &["http", "https", "mailto"])
    }

    /// Checks `url` against `schemes` (lower case) instead of the default ones.
    pub fn parse_with_schemes(url: &str, schemes: &[&str]) -> Result<SafeUrl, UrlRefused> {
        if url.len() > 8192 {
            return Err(UrlRefused::Malformed);
        }
        if url
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return Err(UrlRefused::Character);
        }
        let scheme_end = url.find(':');
        let path_start = url.find(['/', '?', '#']);
        match scheme_end {
            Some(colon) if path_start.is_none_or(|p| colon < p) => {
                let scheme = url[..colon].to_ascii_lowercase();
                if !schemes.contains(&scheme.as_str()) {
                    return Err(UrlRefused::Scheme);
                }
                url::Url::parse(url).map_err(|_| UrlRefused::Malformed)?;
            }
            _ => {}
        }
        Ok(SafeUrl(url.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SafeUrl").field(&self.0).finish()
    }
}

impl fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl HtmlUrl for SafeUrl {
    fn write_url(&self, out: &mut String) {
        escape_into(out, &self.0);
    }
}

/// For generated code. Not public API.
#[doc(hidden)]
pub mod __private {
    use super::{Html, HtmlAttr, HtmlText, HtmlUrl, HtmlUrlPart};

    pub fn text<T: HtmlText + ?Sized>(out: &mut String, value: &T) {
        value.write_text(out);
    }

    pub fn attr<T: HtmlAttr + ?Sized>(out: &mut String, value: &T) {
        value.write_attr(out);
    }

    pub fn url<T: HtmlUrl + ?Sized>(out: &mut String, value: &T) {
        value.write_url(out);
    }

    pub fn url_part<T: HtmlUrlPart + ?Sized>(out: &mut String, value: &T) {
        value.write_url_part(out);
    }

    pub fn finish(markup: String) -> Html {
        Html(markup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_the_five_characters() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\"e'f\0g é");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f\u{fffd}g é");
        let mut out = String::new();
        percent_encode_into(&mut out, "a b/../é?&=#");
        assert_eq!(out, "a%20b%2F..%2F%C3%A9%3F%26%3D%23");
    }

    #[test]
    fn relative_and_allowed_urls_pass() {
        for ok in [
            "https://example.com",
            "HTTP://example.com/x",
            "mailto:a@example.com",
            "/a/b",
            "a/b:c",
            "?q=1",
            "#frag",
            "//example.com/x",
        ] {
            assert!(SafeUrl::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(SafeUrl::parse("ftp://example.com"), Err(UrlRefused::Scheme));
        assert!(SafeUrl::parse_with_schemes("ftp://example.com", &["ftp"]).is_ok());
        assert_eq!(SafeUrl::parse("/a\\b"), Err(UrlRefused::Character));
        assert_eq!(SafeUrl::parse("https://"), Err(UrlRefused::Malformed));
    }
}
