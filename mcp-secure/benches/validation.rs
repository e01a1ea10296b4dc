//! Validation of the same struct by mcp-secure, `garde` and `validator`, in the same run: the
//! rules all three have (length, pattern, email, range), on a valid value (every rule runs) and
//! on an invalid one (every rule fails and is reported).
//!
//! `cargo bench -p mcp-secure --bench validation`

mod common;

use mcp_secure::prelude::*;

/// mcp-secure's version.
#[derive(SecureInput)]
pub struct Ours {
    /// 3 to 32 characters of `[a-z0-9_]`.
    #[mcp(length(min = 3, max = 32), regex = "^[a-z0-9_]+$")]
    pub username: String,
    /// An email address.
    #[mcp(email)]
    pub email: String,
    /// 13 to 130.
    #[mcp(range(min = 13, max = 130))]
    pub age: u32,
    /// At most 500 characters.
    #[mcp(length(max = 500))]
    pub bio: String,
}

static USERNAME: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new("^[a-z0-9_]+$").unwrap());

/// `garde`'s version.
#[derive(garde::Validate)]
pub struct Garde {
    #[garde(length(chars, min = 3, max = 32), pattern(r"^[a-z0-9_]+$"))]
    username: String,
    #[garde(email)]
    email: String,
    #[garde(range(min = 13, max = 130))]
    age: u32,
    #[garde(length(chars, max = 500))]
    bio: String,
}

/// `validator`'s version.
#[derive(validator::Validate)]
pub struct Validator {
    #[validate(length(min = 3, max = 32), regex(path = *USERNAME))]
    username: String,
    #[validate(email)]
    email: String,
    #[validate(range(min = 13, max = 130))]
    age: u32,
    #[validate(length(max = 500))]
    bio: String,
}

const VALID: (&str, &str, u32, &str) = (
    "alice_1984",
    "alice@example.com",
    42,
    "Writes notes about gardening, cooking and the occasional Rust crate.",
);
const INVALID: (&str, &str, u32, &str) = ("Al!", "not an email", 7, "");

fn main() {
    // The three agree on what is valid.
    assert!(ours(VALID).validate().is_ok());
    assert!(garde::Validate::validate(&garde_of(VALID)).is_ok());
    assert!(validator::Validate::validate(&validator_of(VALID)).is_ok());
    assert!(ours(INVALID).validate().is_err());
    assert!(garde::Validate::validate(&garde_of(INVALID)).is_err());
    assert!(validator::Validate::validate(&validator_of(INVALID)).is_err());
    // `MCP_BENCH_RUN=<library>_<valid|invalid>:<calls>` for instruction counts
    // (`benches/instructions.sh`).
    if let Ok(run) = std::env::var("MCP_BENCH_RUN") {
        let (variant, calls) = run.split_once(':').expect("variant:calls");
        let calls: usize = calls.parse().unwrap();
        let (library, case) = variant.rsplit_once('_').expect("library_case");
        let (input, valid) = match case {
            "valid" => (VALID, true),
            "invalid" => (INVALID, false),
            other => panic!("unknown case {other}"),
        };
        let (o, g, v) = (ours(input), garde_of(input), validator_of(input));
        let op = || {
            let ok = match library {
                "mcp_secure" => divan::black_box(&o).validate().is_ok(),
                "garde" => ::garde::Validate::validate(divan::black_box(&g)).is_ok(),
                "validator" => ::validator::Validate::validate(divan::black_box(&v)).is_ok(),
                other => panic!("unknown library {other}"),
            };
            assert_eq!(ok, valid);
        };
        // One call before counting starts, so that lazy set-up (regexes) is not counted.
        op();
        common::counted(calls, op);
        return;
    }
    divan::main();
}

fn ours((u, e, a, b): (&str, &str, u32, &str)) -> Ours {
    Ours {
        username: u.into(),
        email: e.into(),
        age: a,
        bio: b.into(),
    }
}

fn garde_of((u, e, a, b): (&str, &str, u32, &str)) -> Garde {
    Garde {
        username: u.into(),
        email: e.into(),
        age: a,
        bio: b.into(),
    }
}

fn validator_of((u, e, a, b): (&str, &str, u32, &str)) -> Validator {
    Validator {
        username: u.into(),
        email: e.into(),
        age: a,
        bio: b.into(),
    }
}

mod valid {
    use super::*;

    #[divan::bench]
    fn mcp_secure(bencher: divan::Bencher) {
        let v = ours(VALID);
        bencher.bench_local(|| divan::black_box(&v).validate().is_ok());
    }

    #[divan::bench]
    fn garde(bencher: divan::Bencher) {
        let v = garde_of(VALID);
        bencher.bench_local(|| ::garde::Validate::validate(divan::black_box(&v)).is_ok());
    }

    #[divan::bench]
    fn validator(bencher: divan::Bencher) {
        let v = validator_of(VALID);
        bencher.bench_local(|| ::validator::Validate::validate(divan::black_box(&v)).is_ok());
    }
}

mod invalid {
    use super::*;

    #[divan::bench]
    fn mcp_secure(bencher: divan::Bencher) {
        let v = ours(INVALID);
        bencher.bench_local(|| divan::black_box(&v).validate().is_err());
    }

    #[divan::bench]
    fn garde(bencher: divan::Bencher) {
        let v = garde_of(INVALID);
        bencher.bench_local(|| ::garde::Validate::validate(divan::black_box(&v)).is_err());
    }

    #[divan::bench]
    fn validator(bencher: divan::Bencher) {
        let v = validator_of(INVALID);
        bencher.bench_local(|| ::validator::Validate::validate(divan::black_box(&v)).is_err());
    }
}
