//! End-to-end tests of mcp-secure: the demo server as a child process, driven by rmcp's client
//! over streamable HTTP and over stdio. The tests are in `tests/`.
