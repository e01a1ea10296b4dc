//! What `mcp-secure-macros` runs at compile time (the rate, scope, size and name grammars, the
//! regex subset check, the `sql!` and `html!` template scanners), compiled here as plain code:
//! a proc-macro crate exports nothing else, so the fuzz targets include the same source files.

#![allow(dead_code)]

#[path = "../../mcp-secure-macros/src/lexical.rs"]
mod lexical;

#[path = "../../mcp-secure-macros/src/grammar/mod.rs"]
pub mod grammar;

/// The `sql!` scanner.
#[path = "../../mcp-secure-macros/src/sql/scan.rs"]
pub mod sql_scan;

/// The `html!` scanner.
#[path = "../../mcp-secure-macros/src/html/scan.rs"]
pub mod html_scan;
