//! `#[derive(SecureInput)]`: what it accepts, what it reports, and that its JSON Schema states
//! exactly the checks that run (compared against an independent JSON Schema validator).

use mcp_secure::{SecureInput, validate::parse_arguments};
use serde_json::{Value, json};

#[derive(SecureInput, Debug)]
struct Address {
    #[mcp(length(min = 1, max = 20), no_control)]
    city: String,
    #[mcp(regex = "^[0-9]{5}$")]
    zip: Option<String>,
}

#[derive(SecureInput, Debug, PartialEq)]
enum Color {
    Red,
    DarkBlue,
}

#[derive(SecureInput, Debug)]
struct Profile {
    #[mcp(length(min = 2, max = 8), no_control)]
    name: String,
    #[mcp(range(min = 1, max = 120))]
    age: u8,
    #[mcp(range(min = -1.5, max = 1.5))]
    score: Option<f64>,
    #[mcp(one_of = ["admin", "user"])]
    role: Option<String>,
    #[mcp(items(min = 1, max = 3), each(length(max = 4), regex = "^[a-z]+$"))]
    tags: Vec<String>,
    #[mcp(items(max = 2))]
    addresses: Vec<Address>,
    home: Option<Address>,
    color: Option<Color>,
}

#[derive(SecureInput, Debug)]
struct Contact {
    #[mcp(email)]
    email: Option<String>,
    #[mcp(url)]
    hook: Option<String>,
}

fn parse<T: SecureInput>(v: Value) -> Result<T, Vec<(String, &'static str)>> {
    parse_arguments::<T>(v.as_object().cloned()).map_err(|e| {
        e.violations()
            .iter()
            .map(|v| (v.field.clone(), v.rule))
            .collect()
    })
}

fn fields(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    list.iter().map(|(f, r)| (f.to_string(), *r)).collect()
}

fn valid_profile() -> Value {
    json!({"name": "ann", "age": 30, "tags": ["a"], "addresses": []})
}

#[test]
fn valid_input_parses() {
    let p: Profile = parse(valid_profile()).unwrap();
    assert_eq!(
        (p.name.as_str(), p.age, p.score, p.color),
        ("ann", 30, None, None)
    );
    let p: Profile = parse(json!({
        "name": "bo", "age": 1, "score": -1.5, "role": "admin", "tags": ["abc"],
        "addresses": [{"city": "Oslo", "zip": "01234"}], "home": {"city": "Rome"}, "color": "dark_blue"
    }))
    .unwrap();
    assert_eq!(p.color, Some(Color::DarkBlue));
    assert_eq!(p.addresses[0].city, "Oslo");
}

#[test]
fn every_violation_is_reported_with_its_path() {
    let errors = parse::<Profile>(json!({
        "name": "x", "age": 0, "score": 2.0, "role": "root", "tags": ["ok", "TOOLONG", "Up"],
        "addresses": [{"city": "ok"}, {"city": "", "zip": "1"}, {"city": "c"}],
        "home": {"city": "a\u{202E}b"}
    }))
    .unwrap_err();
    assert_eq!(
        errors,
        fields(&[
            ("name", "length"),
            ("age", "range"),
            ("score", "range"),
            ("role", "one_of"),
            ("tags[1]", "length"),
            ("tags[1]", "regex"),
            ("tags[2]", "regex"),
            ("addresses", "items"),
            ("addresses[1].city", "length"),
            ("addresses[1].zip", "regex"),
            ("home.city", "no_control"),
        ])
    );
}

#[test]
fn parse_errors_name_the_field() {
    let mut unknown = valid_profile();
    unknown["admin"] = json!(true);
    assert_eq!(
        parse::<Profile>(unknown).unwrap_err(),
        fields(&[("admin", "unknown_field")])
    );
    let mut nested_unknown = valid_profile();
    nested_unknown["home"] = json!({"city": "x", "street": "y"});
    assert_eq!(
        parse::<Profile>(nested_unknown).unwrap_err(),
        fields(&[("home.street", "unknown_field")])
    );
    let mut missing = valid_profile();
    missing.as_object_mut().unwrap().remove("age");
    assert_eq!(
        parse::<Profile>(missing).unwrap_err(),
        fields(&[("age", "required")])
    );
    let mut wrong = valid_profile();
    wrong["tags"] = json!(["a", 1]);
    assert_eq!(
        parse::<Profile>(wrong).unwrap_err(),
        fields(&[("tags[1]", "type")])
    );
    let mut overflow = valid_profile();
    overflow["age"] = json!(300);
    assert_eq!(
        parse::<Profile>(overflow).unwrap_err(),
        fields(&[("age", "type")])
    );
    let mut color = valid_profile();
    color["color"] = json!("Red");
    assert_eq!(
        parse::<Profile>(color).unwrap_err(),
        fields(&[("color", "one_of")])
    );
    let mut null_name = valid_profile();
    null_name["name"] = Value::Null;
    assert_eq!(
        parse::<Profile>(null_name).unwrap_err(),
        fields(&[("name", "type")])
    );
}

#[test]
fn unicode_edge_cases() {
    let name = |n: &str| {
        let mut v = valid_profile();
        v["name"] = json!(n);
        parse::<Profile>(v).map(|_| ()).map_err(|e| e[0].1)
    };
    assert_eq!(name("日本語"), Ok(()));
    assert_eq!(name("😀😀"), Ok(()), "astral characters count once");
    assert_eq!(
        name("e\u{301}e\u{301}"),
        Ok(()),
        "a combining accent counts as a character"
    );
    assert_eq!(name("e\u{301}"), Ok(()));
    assert_eq!(name("é"), Err("length"));
    assert_eq!(name("a\u{0}b"), Err("no_control"));
    assert_eq!(name("ab\u{202E}"), Err("no_control"));
    assert_eq!(name("ab\u{2067}"), Err("no_control"));
    assert_eq!(name("ab\u{200F}"), Err("no_control"));
    assert_eq!(
        name("a\u{200D}b"),
        Err("no_control"),
        "a zero-width joiner between letters hides"
    );
    assert_eq!(
        name("\u{1F468}\u{200D}\u{1F469}"),
        Ok(()),
        "a zero-width joiner between pictographs joins an emoji"
    );
    assert_eq!(name(&"x".repeat(100_000)), Err("length"));
}

#[test]
fn validate_can_be_called_on_constructed_values() {
    let a = Address {
        city: String::new(),
        zip: None,
    };
    let errors = a.validate().unwrap_err();
    assert_eq!(errors.violations()[0].field, "city");
    assert!(errors.to_string().contains("`city` (length)"));
}

/// Runs both the generated schema (through the `jsonschema` crate, ECMA regex semantics) and
/// our checks on `inputs`, and returns the inputs on which they disagree.
fn disagreements<T: SecureInput>(inputs: &[Value]) -> Vec<(Value, bool, bool)> {
    let (list, accepted) = compare::<T>(inputs);
    // The comparison means something only if both verdicts occur.
    assert!(
        accepted > 0 && accepted < inputs.len(),
        "accepted {accepted} of {}",
        inputs.len()
    );
    list
}

fn compare<T: SecureInput>(inputs: &[Value]) -> (Vec<(Value, bool, bool)>, usize) {
    let schema = serde_json::to_value(
        schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<T>(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let mut accepted = 0;
    let list = inputs
        .iter()
        .filter_map(|input| {
            let by_schema = validator.is_valid(input);
            let by_us = parse_arguments::<T>(input.as_object().cloned()).is_ok();
            accepted += usize::from(by_us);
            (by_schema != by_us).then(|| (input.clone(), by_schema, by_us))
        })
        .collect();
    (list, accepted)
}

#[test]
fn the_schema_states_exactly_the_checks_that_run() {
    let mut inputs = Vec::new();
    let names = [
        "",
        "a",
        "ab",
        "abcdefgh",
        "abcdefghi",
        "日本",
        "😀😀",
        "a\u{0}",
        "a\tb",
        "a\u{7f}",
        "a\u{9f}",
        "a\u{85}",
        "a\u{202A}",
        "a\u{202E}",
        "a\u{2066}",
        "a\u{2069}",
        "a\u{200E}",
        "a\u{61C}",
        "a\u{2028}",
        "e\u{301}",
    ];
    for n in names {
        let mut v = valid_profile();
        v["name"] = json!(n);
        inputs.push(v);
    }
    for age in [
        json!(0),
        json!(1),
        json!(120),
        json!(121),
        json!(255),
        json!(-1),
        json!(1.5),
        json!("5"),
    ] {
        let mut v = valid_profile();
        v["age"] = age;
        inputs.push(v);
    }
    for score in [
        json!(-1.5),
        json!(-1.6),
        json!(1.5),
        json!(1.51),
        json!(0),
        Value::Null,
    ] {
        let mut v = valid_profile();
        v["score"] = score;
        inputs.push(v);
    }
    for role in [
        json!("admin"),
        json!("Admin"),
        json!(""),
        Value::Null,
        json!(1),
    ] {
        let mut v = valid_profile();
        v["role"] = role;
        inputs.push(v);
    }
    for tags in [
        json!([]),
        json!(["a"]),
        json!(["a", "b", "c"]),
        json!(["a", "b", "c", "d"]),
        json!(["abcd"]),
        json!(["abcde"]),
        json!(["A"]),
        json!([""]),
        json!(["é"]),
        json!(["a\n"]),
    ] {
        let mut v = valid_profile();
        v["tags"] = tags;
        inputs.push(v);
    }
    for addresses in [
        json!([{"city": "x"}]),
        json!([{"city": ""}]),
        json!([{"city": "x", "zip": "12345"}]),
        json!([{"city": "x", "zip": "1234"}]),
        json!([{"city": "x", "zip": "123456"}]),
        json!([{"city": "x", "zip": "١٢٣٤٥"}]),
        json!([{"city": "x", "extra": 1}]),
        json!([{"city": "x"}, {"city": "y"}, {"city": "z"}]),
    ] {
        let mut v = valid_profile();
        v["addresses"] = addresses;
        inputs.push(v);
    }
    for color in [
        json!("red"),
        json!("dark_blue"),
        json!("DarkBlue"),
        json!("green"),
        Value::Null,
    ] {
        let mut v = valid_profile();
        v["color"] = color;
        inputs.push(v);
    }
    let mut extra = valid_profile();
    extra["unexpected"] = json!(1);
    inputs.push(extra);
    assert_eq!(
        disagreements::<Profile>(&inputs),
        vec![],
        "(input, schema says, we say)"
    );
}

#[test]
fn email_and_url_accept_only_what_the_schema_accepts() {
    // `email` and `url` are stricter than JSON Schema's formats (no quoted local parts or IP
    // literals; no private hosts): whatever we accept, the schema accepts too.
    let inputs: Vec<Value> = [
        json!({"email": "a@example.com"}),
        json!({"email": "first.last+x@sub.example.org"}),
        json!({"email": "not-an-email"}),
        json!({"email": "\"quoted\"@example.com"}),
        json!({"email": "a@[127.0.0.1]"}),
        json!({"hook": "https://example.com/x"}),
        json!({"hook": "HTTPS://example.com"}),
        json!({"hook": "http://example.com"}),
        json!({"hook": "https://127.0.0.1/"}),
        json!({"hook": "https://exa mple.com"}),
        json!({"hook": "ftp://example.com"}),
        json!({"hook": "https:/relative"}),
    ]
    .into();
    for (input, by_schema, by_us) in disagreements::<Contact>(&inputs) {
        assert!(
            by_schema && !by_us,
            "we accept {input} but the schema does not"
        );
    }
}

#[derive(SecureInput, Debug)]
struct Avatar {
    #[mcp(url(schemes = ["https", "file"], allow_dangerous_schemes))]
    image: String,
    #[mcp(url)]
    homepage: Option<String>,
}

#[test]
fn a_dangerous_scheme_allowed_on_purpose_is_stated_in_the_schema() {
    let schema = serde_json::to_value(schemars::schema_for!(Avatar)).unwrap();
    let image = &schema["properties"]["image"];
    assert_eq!(image["x-mcp-secure-dangerous-schemes"], json!(["file"]));
    assert!(
        schema["properties"]["homepage"]
            .get("x-mcp-secure-dangerous-schemes")
            .is_none()
    );
    let accepted: Result<Avatar, _> = parse_arguments(
        json!({"image": "file://files.example.com/a.png"})
            .as_object()
            .cloned(),
    );
    assert!(accepted.is_ok());
    let refused: Result<Avatar, _> =
        parse_arguments(json!({"image": "javascript:alert(1)"}).as_object().cloned());
    assert!(refused.is_err(), "only the listed schemes pass");
}
