"""Reads what .ci/scanners.sh left in its work directory and fails (exit 1) on:
- a scanner run that reported a crash, an exception, a transport anomaly or an analyzer error,
  or did not complete;
- a 5xx in nginx's log or in a fuzzer's log of the answers it got, or a request through nginx
  without credentials answered other than 401;
- a panic in the demo's stderr, a `tool_failed` or `incident` audit event, a stdio demo that
  exited other than 0;
- a finding not recorded in the reviewed file (.ci/scanner-findings.toml), or a recorded one
  (marked deterministic, the default) that no longer appears.

Usage: check.py WORK_DIR FINDINGS_TOML
"""

import collections
import json
import pathlib
import re
import sys
import tomllib

from jsonschema import Draft202012Validator

work = pathlib.Path(sys.argv[1])
reviewed = tomllib.loads(pathlib.Path(sys.argv[2]).read_text()).get("false_positive", [])
problems = []
findings = []  # (scanner, run, target, analyzer, category, summary)
calls = {}

# Each tool's input schema, from the demo's manifest: an input the demo accepted must pass it.
schemas = {
    tool["name"]: Draft202012Validator(tool["input_schema"])
    for tool in json.loads((work / "manifest.json").read_text())["tools"]
}


def check_accepted(run, finding):
    """The fuzzer's `accepted_malformed` says a tool answered without an error; that is a fault
    only if the input breaks the tool's schema (an attack-shaped string that fits it is data)."""
    evidence = finding.get("evidence", {})
    if finding["kind"] == "tool":
        tool, arguments, result = finding["target"], evidence.get("input"), evidence.get("result")
    elif finding["target"] == "CallToolRequest":
        params = (evidence.get("input") or {}).get("params") or {}
        tool, arguments = params.get("name"), params.get("arguments")
        result = (evidence.get("result") or {}).get("response")
    else:
        return
    if not isinstance(result, dict) or result.get("isError") or tool not in schemas:
        return
    # The fuzzer writes secrets in its evidence as "[REDACTED]": their values cannot be checked.
    errors = [e.message for e in schemas[tool].iter_errors(arguments) if e.instance != "[REDACTED]"]
    if errors:
        problems.append(f"mcp-fuzzer {run}: {tool} accepted input its schema refuses ({errors[0]}): {arguments}")


# mcp-fuzzer: one directory per run, named fuzzer-<run>.
for status_file in sorted(work.glob("fuzzer-*.status")):
    run = status_file.stem[len("fuzzer-"):]
    out = work / f"fuzzer-{run}"
    summary_file = out / "run_summary.json"
    if not summary_file.exists():
        problems.append(f"mcp-fuzzer {run}: no run summary (see {work}/fuzzer-{run}.out)")
        continue
    summary = json.loads(summary_file.read_text())
    unauthenticated = run.endswith("unauthenticated")
    if summary.get("status") != "completed" and not unauthenticated:
        problems.append(f"mcp-fuzzer {run}: status {summary.get('status')!r}")
    count = 0
    for tool, stats in (summary.get("tools") or {}).get("by_name", {}).items():
        count += stats.get("total_runs", 0)
        outcomes = stats.get("outcomes", {})
        for bad in ("crashed", "exceptions", "anomaly"):
            if outcomes.get(bad):
                problems.append(f"mcp-fuzzer {run}: {tool}: {outcomes[bad]} {bad}")
    for kind, stats in (summary.get("protocols") or {}).get("by_type", {}).items():
        count += stats.get("total_runs", 0)
    calls[f"mcp-fuzzer {run}"] = count
    if count == 0 and not unauthenticated:
        problems.append(f"mcp-fuzzer {run}: made no call")
    for f in json.loads((out / "findings.json").read_text())["findings"]:
        findings.append(("mcp-fuzzer", run, f["target"], "", f["category"], ""))
        if f["category"] == "accepted_malformed":
            check_accepted(run, f)

# cisco-ai-mcp-scanner: JSON lines from cisco.py, one file per run.
for out in sorted(work.glob("cisco-*.out")):
    run = out.stem[len("cisco-"):]
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    calls[f"cisco {run}"] = len(lines)
    for f in lines:
        if "analyzer_error" in f:
            problems.append(f"cisco {run}: {f['item']}: {f['analyzer_error']}")
            continue
        item = f["item"]
        target = item[len("tool "):] if item.startswith("tool ") else f"({item})"
        summary = f["summary"].replace(f"'{target}'", "'{tool}'")
        findings.append(("cisco", run, target, f["analyzer"], f["category"], summary))

# Every scanner run exited 0 (a timeout is 124).
for status_file in sorted(work.glob("*.status")):
    status = status_file.read_text().strip()
    if status != "0":
        problems.append(f"{status_file.stem}: exited {status} (see {work}/{status_file.stem}.out, .err)")

# nginx's log: `status credentials method uri`.
statuses = collections.Counter()
for line in (work / "nginx" / "access.log").read_text().splitlines():
    status, credentials, method, uri = line.split(" ", 3)
    statuses[status] += 1
    if status.startswith("5"):
        problems.append(f"HTTP {status} for {method} {uri} ({credentials})")
    elif credentials == "none" and uri == "/mcp" and status != "401":
        problems.append(f"HTTP {status} without credentials for {method} {uri} (want 401)")

# A run that goes to the demo directly (the OAuth audit follows the URLs of the demo's metadata)
# logs each answer at INFO: `HTTP Request: GET URL "HTTP/1.1 200 OK"`.
for log in sorted(work.glob("fuzzer-*.err")):
    for method, uri, status in re.findall(r'HTTP Request: (\S+) (\S+) "HTTP/1\.1 (\d{3})', log.read_text()):
        statuses[status] += 1
        if status.startswith("5"):
            problems.append(f"HTTP {status} for {method} {uri.split('?')[0]} ({log.stem})")

# The demo's own record of failures: the first few lines of each file, and how many.
for err in ("http.err", "dev-auth.err", "stdio.err"):
    path = work / err
    text = path.read_text(errors="replace") if path.exists() else ""
    panics = [line for line in text.splitlines() if "panicked" in line]
    problems += [f"{err}: {line}" for line in panics[:3]]
    if len(panics) > 3:
        problems.append(f"{err}: {len(panics)} lines naming a panic in all")
for audit in sorted(work.glob("*.audit.jsonl")):
    failures = [
        line
        for line in audit.read_text().splitlines()
        if json.loads(line).get("event") in ("tool_failed", "incident")
    ]
    problems += [f"{audit.name}: {line}" for line in failures[:3]]
    if len(failures) > 3:
        problems.append(f"{audit.name}: {len(failures)} tool_failed or incident events in all")
exits = work / "stdio.exits"
for line in exits.read_text().splitlines() if exits.exists() else []:
    if not line.endswith(" exited 0"):
        problems.append(line)


def listed(entry, key):
    value = entry.get(key, [""])
    return value if isinstance(value, list) else [value]


def matches(entry, finding):
    scanner, run, target, analyzer, category, summary = finding
    return (
        entry["scanner"] == scanner
        and entry["category"] == category
        and entry.get("analyzer", "") == analyzer
        and summary in listed(entry, "summary")
        and run in entry["runs"]
        and target in entry["targets"]
    )


unrecorded = collections.Counter(
    f for f in findings if not any(matches(entry, f) for entry in reviewed)
)
for (scanner, run, target, analyzer, category, summary), n in sorted(unrecorded.items()):
    what = " ".join(x for x in (analyzer, category) if x)
    problems.append(
        f"unrecorded finding ({n}x): {scanner} {run}: {target}: {what}" + (f": {summary}" if summary else "")
    )
# A deterministic entry (the default) stays true: each run, target and summary it lists is
# still found.
for entry in reviewed:
    if not entry.get("deterministic", True):
        continue
    found = [f for f in findings if matches(entry, f)]
    for key, index in (("runs", 1), ("targets", 2), ("summary", 5)):
        for value in listed(entry, key):
            if not any(f[index] == value for f in found):
                problems.append(
                    f"recorded false positive no longer found: {entry['scanner']} "
                    f"{entry.get('analyzer', '')} {entry['category']}: {key} {value!r}"
                )


print("calls or results per run: " + ", ".join(f"{k} {v}" for k, v in calls.items()))
print("HTTP statuses answered: " + ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items())))
by_scanner = collections.Counter(f[0] for f in findings)
print(
    f"findings: {len(findings)} ({', '.join(f'{k} {v}' for k, v in sorted(by_scanner.items()))}), "
    f"all recorded as false positives in {len(reviewed)} entries"
    if not unrecorded
    else f"findings: {len(findings)}, {sum(unrecorded.values())} unrecorded"
)
for p in problems[:40]:
    print("FAIL: " + p)
if len(problems) > 40:
    print(f"FAIL: … and {len(problems) - 40} more")
sys.exit(1 if problems else 0)
