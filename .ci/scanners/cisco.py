"""Runs cisco-ai-mcp-scanner's offline analyzers against the demo and prints every finding as
one JSON line: {"scanner", "run", "item", "analyzer", "category", "severity", "summary"}.

Offline means no Cisco AI Defense API, no LLM and no VirusTotal: YARA (its rules on names,
descriptions and schemas), schema (`$ref`s out of the document), readiness (heuristics on a
tool's definition) and prompt_defense (regexes on descriptions), over streamable HTTP with a
token and over stdio; the server's instructions; and the read-only protocol checks, which
send no credentials. An analyzer or a scan that errs is a line with "analyzer_error" set: the
caller fails on it, so an analyzer that silently stopped running cannot pass for a clean one.

Usage: cisco.py http URL TOKEN | cisco.py stdio COMMAND ARG... (NOTES_TOKEN in the
environment) | cisco.py protocol URL
"""

import asyncio
import json
import os
import sys

from mcpscanner import Config, Scanner
from mcpscanner.core.analyzers.protocol_analyzer import ProtocolAnalyzer
from mcpscanner.core.auth import Auth
from mcpscanner.core.mcp_models import StdioServer
from mcpscanner.core.models import AnalyzerEnum

ANALYZERS = [
    AnalyzerEnum.YARA,
    AnalyzerEnum.SCHEMA,
    AnalyzerEnum.READINESS,
    AnalyzerEnum.PROMPT_DEFENSE,
]


def emit(run, item, finding):
    print(
        json.dumps(
            {
                "scanner": "cisco",
                "run": run,
                "item": item,
                "analyzer": str(finding.analyzer),
                "category": str(finding.threat_category),
                "severity": str(finding.severity),
                "summary": str(finding.summary),
            },
            sort_keys=True,
        )
    )


def emit_error(run, item, error):
    print(
        json.dumps(
            {"scanner": "cisco", "run": run, "item": item, "analyzer_error": str(error)},
            sort_keys=True,
        )
    )


def emit_results(run, results):
    for result in results:
        item = "tool " + result.tool_name
        for error in result.analyzer_errors or []:
            emit_error(run, item, error)
        if result.status != "completed":
            emit_error(run, item, f"status {result.status}")
        for finding in result.findings:
            emit(run, item, finding)


async def main(mode, args):
    # Nothing here may reach the network: these keys stay empty, so the API, LLM and
    # VirusTotal analyzers cannot be built.
    scanner = Scanner(Config(api_key="", llm_provider_api_key=""))
    if mode == "http":
        url, token = args
        auth = Auth.bearer(token)
        emit_results("http", await scanner.scan_remote_server_tools(url, auth=auth, analyzers=ANALYZERS))
        instructions = await scanner.scan_remote_server_instructions(url, auth=auth, analyzers=ANALYZERS)
        for error in instructions.analyzer_errors or []:
            emit_error("http", "instructions", error)
        for finding in instructions.findings:
            emit("http", "instructions", finding)
    elif mode == "stdio":
        server = StdioServer(command=args[0], args=args[1:], env=dict(os.environ), expand_vars="off")
        with open(os.environ["SCANNER_STDERR"], "a") as errlog:
            emit_results("stdio", await scanner.scan_stdio_server_tools(server, analyzers=ANALYZERS, errlog=errlog))
    elif mode == "protocol":
        (url,) = args
        for finding in await ProtocolAnalyzer(timeout=10).analyze(url):
            emit("protocol", "server", finding)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
