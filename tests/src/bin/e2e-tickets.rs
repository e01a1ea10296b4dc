//! README's complete server (`examples/quickstart`) under a name of this package, so that
//! `tests/guide_clients.rs` finds it through `CARGO_BIN_EXE_e2e-tickets` and runs the guide's
//! Python and TypeScript clients against it.

// README's copy documents its input type by its field; the workspace lints ask for more.
#![allow(missing_docs)]

include!("../../../examples/quickstart/src/main.rs");
