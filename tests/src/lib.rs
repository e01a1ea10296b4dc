//! End-to-end tests of mcp-secure: the demo server as a child process, driven by rmcp's client
//! over streamable HTTP and over stdio. The tests are in `tests/`.

/// The guide's chapters (`docs/src`) as doctests, so that the test command compiles (and runs,
/// unless a block says `no_run`) every Rust block in them. A block that must not compile is
/// `rust,compile_fail`; one that is not Rust names its language (`text`, `toml`, `sh`, …).
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../docs/src/introduction.md")]
    mod introduction {}
    #[doc = include_str!("../../docs/src/first-server.md")]
    mod first_server {}
    #[doc = include_str!("../../docs/src/inputs.md")]
    mod inputs {}
    #[doc = include_str!("../../docs/src/authorization.md")]
    mod authorization {}
    #[doc = include_str!("../../docs/src/http.md")]
    mod http {}
    #[doc = include_str!("../../docs/src/rate-limits.md")]
    mod rate_limits {}
    #[doc = include_str!("../../docs/src/queries.md")]
    mod queries {}
    #[doc = include_str!("../../docs/src/secrets.md")]
    mod secrets {}
    #[doc = include_str!("../../docs/src/outputs.md")]
    mod outputs {}
    #[doc = include_str!("../../docs/src/sandbox.md")]
    mod sandbox {}
    #[doc = include_str!("../../docs/src/operations.md")]
    mod operations {}
    #[doc = include_str!("../../docs/src/threat-model.md")]
    mod threat_model {}
    #[doc = include_str!("../../docs/src/interoperability.md")]
    mod interoperability {}
    #[doc = include_str!("../../docs/src/known-limits.md")]
    mod known_limits {}
}
