//! The checks behind each `#[mcp(...)]` rule. Generated code calls these; they are public so
//! that hand-written validation says the same things.
//!
//! Every function records a [`Violation`](super::Violation) in `errors` when the value fails
//! and never puts the value itself into the message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use regex::Regex;

use super::{FieldPath, ValidationErrors};

/// The JSON Schema `pattern` `no_control` states: no character of the Basic Multilingual Plane
/// that [`crate::sanitize::class`] hides by property (controls, `Default_Ignorable_Code_Point`,
/// Cf, Co, Zl, Zp, the blank letters), ZWJ and VS15/VS16 aside.
///
/// What a `pattern` cannot state, and the server's check does: characters outside the BMP
/// (tags, VS17–VS256, supplementary private use; JSON Schema validators differ on whether a
/// pattern sees code points or UTF-16 units), unassigned code points (they depend on the
/// validator's Unicode version), and the emoji context in which ZWJ and VS15/VS16 are allowed
/// (no lookbehind in the portable subset of ECMA-262). A pattern is a hint to clients; the
/// server's check is the rule.
pub const NO_CONTROL_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u034F\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890-\\u0891\\u08E2\\u115F-\\u1160\\u17B4-\\u17B5\\u180B-\\u180F\\u200B-\\u200C\\u200E-\\u200F\\u2028-\\u202E\\u2060-\\u206F\\u2800\\u3164\\uE000-\\uF8FF\\uFE00-\\uFE0D\\uFEFF\\uFFA0\\uFFF0-\\uFFFB]*$";

/// Longest address `email` accepts (RFC 5321's path limit less the angle brackets).
pub const EMAIL_MAX_LENGTH: usize = 254;

/// Longest URL `url` accepts.
pub const URL_MAX_LENGTH: usize = 2048;

/// Whether `c` is one of the characters `no_control` refuses wherever it stands
/// ([`crate::sanitize::is_hidden`]; ZWJ and VS15/VS16 are judged by [`no_control`] in context).
pub fn is_control_or_bidi(c: char) -> bool {
    crate::sanitize::is_hidden(c)
}

/// `length(min, max)`: the number of Unicode scalar values (what JSON Schema's `minLength` and
/// `maxLength` count; a letter with a combining accent counts as two).
pub fn length(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: &str,
    min: Option<usize>,
    max: Option<usize>,
) {
    // Cheap bounds first: a UTF-8 string has between len/4 and len chars.
    if min.is_none_or(|min| value.len() / 4 >= min) && max.is_none_or(|max| value.len() <= max) {
        return;
    }
    let n = value.chars().count();
    let fails = min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max);
    if fails {
        errors.push(path, "length", length_message(min, max, n, "characters"));
    }
}

/// `length(min, max)` on a secret: the same bounds, and a message that does not say how long
/// the secret was.
pub fn secret_length(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: &str,
    min: Option<usize>,
    max: Option<usize>,
) {
    let n = value.chars().count();
    if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
        let message = match (min, max) {
            (Some(min), Some(max)) => format!("must have {min} to {max} characters"),
            (Some(min), None) => format!("must have at least {min} characters"),
            (None, Some(max)) => format!("must have at most {max} characters"),
            (None, None) => unreachable!("a length rule has a bound"),
        };
        errors.push(path, "length", message);
    }
}

/// `items(min, max)`: the number of elements of a list.
pub fn items(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    n: usize,
    min: Option<usize>,
    max: Option<usize>,
) {
    if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
        errors.push(path, "items", length_message(min, max, n, "items"));
    }
}

#[cold]
fn length_message(min: Option<usize>, max: Option<usize>, n: usize, unit: &str) -> String {
    match (min, max) {
        (Some(min), Some(max)) if min == max => format!("must have exactly {min} {unit} (has {n})"),
        (Some(min), Some(max)) => format!("must have {min} to {max} {unit} (has {n})"),
        (Some(min), None) => format!("must have at least {min} {unit} (has {n})"),
        (None, Some(max)) => format!("must have at most {max} {unit} (has {n})"),
        (None, None) => unreachable!("a length rule has a bound"),
    }
}

/// `range(min, max)`: inclusive bounds on a number. NaN is refused whatever the bounds.
pub fn range<T>(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: T,
    min: Option<T>,
    max: Option<T>,
) where
    T: PartialOrd + std::fmt::Display + Copy,
{
    #[allow(clippy::eq_op)]
    let nan = value != value;
    if nan || min.is_some_and(|min| value < min) || max.is_some_and(|max| value > max) {
        out_of_range(errors, path, min, max);
    }
}

/// The violation of [`range`]; out of line, so that the check itself stays a few compares.
#[cold]
#[inline(never)]
fn out_of_range<T: std::fmt::Display>(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    min: Option<T>,
    max: Option<T>,
) {
    let message = match (min, max) {
        (Some(min), Some(max)) => format!("must be between {min} and {max}"),
        (Some(min), None) => format!("must be at least {min}"),
        (None, Some(max)) => format!("must be at most {max}"),
        (None, None) => "must be a number".to_owned(),
    };
    errors.push(path, "range", message);
}

/// `regex = "..."`: the pattern matches somewhere in the value (anchor it with `^...$` to match
/// the whole value, as in JSON Schema). `regex` is `None` only if the pattern, checked at
/// compile time, still could not be built (size limits): the value is then refused.
pub fn regex(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: &str,
    regex: Option<&Regex>,
    pattern: &str,
) {
    if !regex.is_some_and(|r| r.is_match(value)) {
        errors.push(path, "regex", format!("must match the pattern {pattern}"));
    }
}

/// `no_control`: no character the output sanitizer would remove or replace
/// ([`crate::sanitize::first_hidden`]): controls (TAB and LF too), bidi controls, zero-width
/// and other hidden characters, unassigned code points; ZWJ and VS15/VS16 only inside emoji.
pub fn no_control(errors: &mut ValidationErrors, path: &FieldPath<'_>, value: &str) {
    let at = value
        .chars()
        .position(|c| c == '\t' || c == '\n')
        .into_iter()
        .chain(crate::sanitize::first_hidden(value))
        .min();
    if let Some(at) = at {
        errors.push(
            path,
            "no_control",
            format!("must not contain control or bidirectional-override characters (found one at character {at})"),
        );
    }
}

/// `one_of = [...]`: the value is one of the listed strings, compared exactly.
pub fn one_of(errors: &mut ValidationErrors, path: &FieldPath<'_>, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        let list = allowed
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(path, "one_of", format!("must be one of {list}"));
    }
}

/// `email`: an address `local@domain` with an ASCII dot-atom local part of at most 64
/// characters and a domain of at least two LDH labels, at most [`EMAIL_MAX_LENGTH`] in all.
/// Quoted local parts, IP-literal domains and non-ASCII addresses are refused.
pub fn email(errors: &mut ValidationErrors, path: &FieldPath<'_>, value: &str) {
    if !is_email(value) {
        errors.push(
            path,
            "email",
            "must be an email address like name@example.com",
        );
    }
}

fn is_email(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() > EMAIL_MAX_LENGTH {
        return false;
    }
    // The local part, up to the first `@`, in the same pass that finds it.
    let mut prev = b'.';
    for (at, &b) in bytes.iter().enumerate() {
        if ATEXT[usize::from(b)] || (b == b'.' && prev != b'.') {
            prev = b;
        } else if b == b'@' && prev != b'.' && at <= 64 {
            // `prev` is not `.` only after at least one byte: the local part is not empty.
            return is_dns_name(&bytes[at + 1..], 2);
        } else {
            return false;
        }
    }
    false
}

/// The bytes an email's local part may hold besides `.` (RFC 5322 `atext`, ASCII only).
const ATEXT: [bool; 256] = byte_set(b"!#$%&'*+-/=?^_`{|}~");

/// The bytes a DNS label may hold besides letters and digits.
const LABEL: [bool; 256] = byte_set(b"-");

/// A lookup table of ASCII letters, digits and `extra`.
const fn byte_set(extra: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 128 {
        set[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        set[extra[i] as usize] = true;
        i += 1;
    }
    set
}

/// A DNS name of at least `min_labels` labels: each 1 to 63 letters, digits and inner hyphens,
/// at most 253 bytes in all, the last label not all digits (that would be an IP address). One
/// pass over the bytes.
fn is_dns_name(bytes: &[u8], min_labels: usize) -> bool {
    if bytes.len() > 253 {
        return false;
    }
    let (mut labels, mut len, mut all_digits, mut prev) = (0, 0, true, b'.');
    for &b in bytes {
        if b == b'.' {
            if len == 0 || prev == b'-' {
                return false;
            }
            (labels, len, all_digits) = (labels + 1, 0, true);
        } else {
            let starts_with_hyphen = len == 0 && b == b'-';
            if !LABEL[usize::from(b)] || starts_with_hyphen || len == 63 {
                return false;
            }
            len += 1;
            all_digits &= b.is_ascii_digit();
        }
        prev = b;
    }
    len > 0 && prev != b'-' && labels + 1 >= min_labels && !all_digits
}

/// `url(schemes = [...], allow_private)`: an absolute URL of at most [`URL_MAX_LENGTH`]
/// characters, with one of `schemes` and a host, without credentials (`user:pass@`); unless
/// `allow_private`, a host that is a single-label name (`intranet`: search domains complete it),
/// `localhost`, `*.local`, `*.internal` or `*.home.arpa`, or an IP literal in a loopback, private,
/// link-local, shared, unspecified, documentation or multicast range is refused (however the
/// IP is written: `127.1`, `2130706433`, `0x7f.0.0.1` and `[::ffff:127.0.0.1]` all count).
///
/// Host names are not resolved here: a name that resolves to a private address has to be
/// refused again when connecting.
///
/// `#[mcp(url(...))]` refuses at compile time a list naming `javascript`, `vbscript`, `data`,
/// `file` or `blob`, which run code or read local data where the URL is followed or rendered,
/// unless the rule also says `allow_dangerous_schemes`; the field's schema then carries
/// `x-mcp-secure-dangerous-schemes`, so the listing and the manifest show it. Only URLs with a
/// host pass this check, so of those schemes only `file://host/...` can.
pub fn url(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: &str,
    schemes: &[&str],
    allow_private: bool,
) {
    if let Err(message) = check_url(value, schemes, allow_private) {
        errors.push(path, "url", message);
    }
}

pub(crate) fn check_url(value: &str, schemes: &[&str], allow_private: bool) -> Result<(), String> {
    let allowed = || {
        schemes
            .iter()
            .map(|s| format!("{s}://"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if value.chars().count() > URL_MAX_LENGTH {
        return Err(format!(
            "must be a URL of at most {URL_MAX_LENGTH} characters"
        ));
    }
    // The URL parser would silently drop these; the schema's pattern cannot, so refuse them.
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    // Parsers disagree on `\` (WHATWG reads it as `/`, others as part of the user name), so a
    // URL checked by one could reach another host through another.
    if value.contains('\\') {
        return Err("must not contain a backslash".into());
    }
    let url = url::Url::parse(value)
        .map_err(|_| format!("must be an absolute URL starting with {}", allowed()))?;
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(url.scheme())) {
        return Err(format!("must start with {}", allowed()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let host = url.host().ok_or_else(|| "must name a host".to_owned())?;
    if allow_private {
        return Ok(());
    }
    let private = match host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            // A single-label name (`intranet`, `metadata`) is completed by the resolver's search
            // domains, so it reaches the local network; so do the special-use names.
            !d.contains('.')
                || ["localhost", "local", "internal", "home.arpa"]
                    .iter()
                    .any(|tld| d == *tld || d.ends_with(&format!(".{tld}")))
        }
        // The same classification as the fetches' connections (`fetch::FetchPolicy`).
        url::Host::Ipv4(ip) => is_private_ip(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => is_private_ip(IpAddr::V6(ip)),
    };
    if private {
        return Err("must not point to a loopback, private or link-local address".into());
    }
    Ok(())
}

/// Whether an address is one a server should not be sent to on a caller's behalf: loopback,
/// private, link-local, shared (CGNAT), unspecified, broadcast, documentation, benchmarking,
/// reserved or multicast, including IPv4 addresses embedded in IPv6 (IPv4-mapped, -compatible
/// and NAT64) and the tunnel, local-translation and discard prefixes (6to4, Teredo,
/// `64:ff9b:1::/48`, `100::/64`).
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    let s = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed an IPv4 address.
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_private_v4(embedded);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return is_private_v4(embedded);
    }
    // 6to4 (2002::/16, deprecated) embeds an IPv4 address in its second and third groups, and
    // Teredo (2001::/32) an obfuscated one: neither is a public host a server fetches from. The
    // local-use NAT64 prefix (64:ff9b:1::/48) translates to addresses of the local network, and
    // 100::/64 discards.
    let tunnelled = s[0] == 0x2002 || (s[0] == 0x2001 && s[1] == 0);
    let local_nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1;
    let discard = s[0] == 0x100 && s[1..4] == [0; 3];
    tunnelled
        || local_nat64
        || discard
        || ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl FnOnce(&mut ValidationErrors, &FieldPath<'_>)) -> Vec<String> {
        let mut e = ValidationErrors::new();
        let root = FieldPath::Root;
        f(&mut e, &root.field("f"));
        e.violations()
            .iter()
            .map(|v| format!("{}:{}", v.rule, v.message))
            .collect()
    }

    #[test]
    fn length_counts_scalar_values() {
        assert!(run(|e, p| length(e, p, "héllo", Some(5), Some(5))).is_empty());
        // e + COMBINING ACUTE ACCENT is two scalar values, as JSON Schema counts them.
        assert_eq!(
            run(|e, p| length(e, p, "e\u{301}", None, Some(1))),
            ["length:must have at most 1 characters (has 2)"]
        );
        assert!(run(|e, p| length(e, p, "😀😀", None, Some(2))).is_empty());
        assert_eq!(
            run(|e, p| length(e, p, "", Some(1), Some(200))),
            ["length:must have 1 to 200 characters (has 0)"]
        );
        let long = "x".repeat(1_000_000);
        assert_eq!(run(|e, p| length(e, p, &long, None, Some(10))).len(), 1);
        assert!(run(|e, p| length(e, p, "\0", Some(1), Some(1))).is_empty());
    }

    #[test]
    fn range_is_inclusive_and_refuses_nan() {
        assert!(run(|e, p| range(e, p, 1u32, Some(1), Some(10))).is_empty());
        assert!(run(|e, p| range(e, p, 10u32, Some(1), Some(10))).is_empty());
        assert_eq!(
            run(|e, p| range(e, p, 0u32, Some(1), Some(10))),
            ["range:must be between 1 and 10"]
        );
        assert_eq!(run(|e, p| range(e, p, f64::NAN, Some(0.0), None)).len(), 1);
        assert_eq!(
            run(|e, p| range(e, p, -5i64, None, Some(-6))),
            ["range:must be at most -6"]
        );
    }

    #[test]
    fn no_control_refuses_controls_and_bidi_overrides() {
        for bad in [
            "a\0b",
            "tab\there",
            "line\n",
            "\u{7f}",
            "\u{85}",
            "abc\u{202E}cba",
            "\u{2066}x\u{2069}",
            "\u{200F}",
            "\u{61C}",
            "\u{200B}",
            "\u{AD}",
            "a\u{FE0F}",
            "\u{2800}",
            "\u{3164}",
            "\u{E0041}",
            "\u{E0100}",
            "\u{E000}",
            "\u{378}",
            "a\u{200D}b",
        ] {
            assert_eq!(run(|e, p| no_control(e, p, bad)).len(), 1, "{bad:?}");
        }
        for good in [
            "plain",
            "héllo wörld",
            "e\u{301}",
            "עברית",
            "العربية",
            "日本語",
            "😀",
            "👨\u{200D}👩\u{200D}👧",
            "\u{2764}\u{FE0F}",
        ] {
            assert!(run(|e, p| no_control(e, p, good)).is_empty(), "{good:?}");
        }
    }

    /// Every assigned character of the BMP (surrogates and the emoji joiners aside): the
    /// pattern refuses it exactly when the check does.
    #[test]
    fn no_control_pattern_states_the_same_set() {
        let re = Regex::new(&rust_pattern(NO_CONTROL_PATTERN)).unwrap();
        let unassigned = |c: char| {
            use icu_properties::{CodePointMapData, props::GeneralCategory};
            CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Unassigned
        };
        for c in ('\0'..='\u{FFFF}')
            .filter(|&c| !unassigned(c) && !crate::sanitize::class::is_emoji_joiner(c))
        {
            assert_eq!(re.is_match(&c.to_string()), !is_control_or_bidi(c), "{c:?}");
        }
    }

    fn rust_pattern(ecma: &str) -> String {
        let mut out = String::new();
        let mut rest = ecma;
        while let Some(i) = rest.find("\\u") {
            out.push_str(&rest[..i]);
            out.push_str(&format!("\\x{{{}}}", &rest[i + 2..i + 6]));
            rest = &rest[i + 6..];
        }
        out + rest
    }

    #[test]
    fn email_accepts_ordinary_addresses_only() {
        for good in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "x_y@a-b.io",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a..b@c.com",
            ".a@c.com",
            "a@-b.com",
            "a@b.123",
            "a b@c.com",
            "a@[127.0.0.1]",
            "\"q\"@c.com",
            "ü@c.com",
            "a@b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("{}@c.com", "a".repeat(65))));
    }

    /// The email check as first written (splitting on `@` and `.`): the one-pass version must
    /// agree with it on every input.
    fn is_email_by_splitting(value: &str) -> bool {
        let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
        let dns = |name: &str| {
            let labels: Vec<&[u8]> = name.split('.').map(str::as_bytes).collect();
            name.len() <= 253
                && labels.len() >= 2
                && labels.iter().all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l[0] != b'-'
                        && l[l.len() - 1] != b'-'
                        && l.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
                })
                && !labels[labels.len() - 1].iter().all(u8::is_ascii_digit)
        };
        let Some((local, domain)) = value.split_once('@') else {
            return false;
        };
        value.len() <= EMAIL_MAX_LENGTH
            && !local.is_empty()
            && local.len() <= 64
            && local
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(atext))
            && dns(domain)
    }

    #[test]
    fn email_agrees_with_the_splitting_definition() {
        // Every string of up to 6 symbols over an alphabet that exercises each branch.
        let alphabet = ["a", "1", "-", ".", "@", "!", "é"];
        let mut inputs = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..6 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            inputs.extend(frontier.iter().cloned());
        }
        // And the length limits, on either side.
        for n in [62, 63, 64, 65] {
            inputs.push(format!("{}@b.com", "a".repeat(n)));
            inputs.push(format!("a@{}.com", "b".repeat(n)));
        }
        let label = "c".repeat(60);
        for n in 6..=12 {
            // 244 + n bytes: 250 to 256, around the 253-byte limit.
            let domain = format!("{label}.{label}.{label}.{label}.{}", "d".repeat(n));
            inputs.push(format!("a@{domain}"));
        }
        for input in &inputs {
            assert_eq!(is_email(input), is_email_by_splitting(input), "{input:?}");
        }
        assert!(inputs.iter().filter(|i| is_email(i)).count() > 50);
    }

    #[test]
    fn url_refuses_other_schemes_credentials_and_private_hosts() {
        let ok = |u: &str| check_url(u, &["https"], false);
        assert!(ok("https://example.com/hook").is_ok());
        assert!(ok("HTTPS://Example.com").is_ok());
        for bad in [
            "http://example.com",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://user:pw@example.com",
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://api.localhost",
            "https://127.0.0.1",
            "https://127.1",
            "https://2130706433",
            "https://0x7f.0.0.1",
            "https://017700000001",
            "https://10.1.2.3",
            "https://172.16.0.1",
            "https://192.168.1.1",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1",
            "https://0.0.0.0",
            "https://[::1]",
            "https://[::]",
            "https://[::ffff:127.0.0.1]",
            "https://[::ffff:a9fe:a9fe]",
            "https://[fd00::1]",
            "https://[fe80::1]",
            "https://[64:ff9b::10.0.0.1]",
            "https://[64:ff9b:1::a00:1]",
            "https://[2002:7f00:1::1]",
            "https://[2002:a9fe:a9fe::]",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
            "https://[100::1]",
            "https://intranet/x",
            "https://metadata/computeMetadata/v1/",
            "https:///hook",
            "https://printer.local",
            "https://metadata.google.internal",
            "https://nas.home.arpa",
            "https://hooks.example.com\\@127.0.0.1/",
            "https:\\\\127.0.0.1",
            "notaurl",
            "",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        assert!(check_url("https://10.1.2.3", &["https"], true).is_ok());
        assert!(check_url("http://x.org", &["http", "https"], false).is_ok());
        assert!(ok(&format!("https://e.com/{}", "a".repeat(URL_MAX_LENGTH))).is_err());
        assert!(ok("https://[2606:4700::1111]").is_ok());
        assert!(ok("https://8.8.8.8").is_ok());
    }

    #[test]
    fn messages_name_the_rule_not_the_value() {
        let msgs = run(|e, p| {
            one_of(e, p, "hunter2", &["a", "b"]);
            regex(
                e,
                p,
                "hunter2",
                Regex::new("^[a-z]+$").ok().as_ref(),
                "^[a-z]+$",
            );
            url(e, p, "https://hunter2.localhost", &["https"], false);
        });
        assert_eq!(msgs.len(), 3);
        assert!(msgs.iter().all(|m| !m.contains("hunter2")), "{msgs:?}");
        assert_eq!(msgs[0], "one_of:must be one of \"a\", \"b\"");
    }
}
