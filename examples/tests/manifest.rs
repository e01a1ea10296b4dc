//! The committed manifest is the server's policy: any change of a scope, rate, schema or
//! annotation must show up in review as a change of `notes-server.manifest.json`.

#[test]
fn the_committed_manifest_matches_the_server() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/notes-server.manifest.json");
    let committed = std::fs::read_to_string(path).expect("examples/notes-server.manifest.json");
    let current = mcp_secure_examples::notes::manifest().to_pretty_string();
    assert!(
        committed == current,
        "the server's policy changed; review it, then record it with\n  \
         cargo run -p mcp-secure-examples --bin notes-server -- manifest > examples/notes-server.manifest.json"
    );
}

#[test]
fn the_manifest_states_every_tools_policy() {
    let json = mcp_secure_examples::notes::manifest().to_json();
    let tools = json["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 8);
    assert!(tools.iter().all(|t| t["guarded"] == true));
    let get = tools.iter().find(|t| t["name"] == "notes_get").unwrap();
    assert_eq!(
        get["policy"]["granted_by"],
        serde_json::json!(["notes:read", "notes:write"])
    );
    let hook = tools
        .iter()
        .find(|t| t["name"] == "webhook_register")
        .unwrap();
    assert_eq!(
        hook["input_schema"]["properties"]["secret"]["writeOnly"],
        true
    );
    assert_eq!(
        hook["input_schema"]["properties"]["secret"]["format"],
        "password"
    );
    assert!(hook["output_schema"]["properties"].get("secret").is_none());
}

/// The container runtimes' seccomp profile is generated from the list the in-process filter
/// uses, so the two cannot drift.
#[test]
fn the_committed_seccomp_profile_matches_the_filter() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/seccomp-profile.json");
    let committed = std::fs::read_to_string(path).expect("examples/seccomp-profile.json");
    let current = format!("{}\n", mcp_secure_examples::cli::seccomp_profile_text());
    assert!(
        committed == current,
        "the refused system calls changed; record them with\n  \
         cargo run -p mcp-secure-examples --bin notes-server -- seccomp-profile > examples/seccomp-profile.json"
    );
}
