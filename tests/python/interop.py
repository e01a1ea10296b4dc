"""The demo server seen through the official Python MCP SDK (PyPI `mcp`), as a Python user sees it.

Run by `tests/tests/python_sdk.rs`, which starts `notes-server serve` and passes, in the
environment: MCP_URL, SERVER_BIN and SERVER_ARGS (for stdio), FILES_DIR, NOTES_JWT_SECRET, and
the credentials WRITER (notes:write files:read), READER (notes:read), BOB (every scope),
CAROL_JWT (a JWT with notes:write, for the rate test). Prints one line per check; exits non-zero on the first failure.
"""

import asyncio
import os
import sys
from contextlib import asynccontextmanager

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

URL = os.environ["MCP_URL"]
CHECKS = 0


def check(condition, what, detail=None):
    global CHECKS
    if not condition:
        print(f"FAIL: {what}" + (f": {detail!r}" if detail is not None else ""), flush=True)
        sys.exit(1)
    CHECKS += 1
    print(f"ok: {what}", flush=True)


@asynccontextmanager
async def http_session(token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with streamable_http_client(URL, http_client=create_mcp_http_client(headers=headers)) as (r, w, *_):
        async with ClientSession(r, w) as session:
            await session.initialize()
            yield session


def flatten(e):
    """The leaf exceptions of an exception group."""
    if isinstance(e, BaseExceptionGroup):
        for inner in e.exceptions:
            yield from flatten(inner)
    else:
        yield e


def error(result):
    """The `error` object of a refused call."""
    # Every error result carries its error in _meta; a tool with an output schema only there.
    return (result.meta or {}).get("io.github.mcp-secure/error", {})


def text(result):
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def check_schemas(session):
    tools = {t.name: t for t in (await session.list_tools()).tools}
    check(
        sorted(tools)
        == sorted(
            ["whoami", "notes_create", "notes_search", "notes_get", "notes_update", "notes_delete", "files_read", "webhook_register"]
        ),
        "list_tools: the eight tools, names exact",
        sorted(tools),
    )
    for name, tool in tools.items():
        check(tool.input_schema.get("additionalProperties") is False, f"{name}: unknown fields refused by the schema")
    create = tools["notes_create"].input_schema["properties"]
    check(create["title"]["minLength"] == 1 and create["title"]["maxLength"] == 200, "notes_create.title: 1..200")
    check(create["body"]["maxLength"] == 10000, "notes_create.body: <= 10000")
    check(
        create["tags"]["maxItems"] == 10 and create["tags"]["items"]["pattern"] == "^[a-z0-9-]{1,32}$",
        "notes_create.tags: <= 10 of ^[a-z0-9-]{1,32}$",
    )
    search = tools["notes_search"].input_schema["properties"]
    check(search["limit"]["minimum"] == 1 and search["limit"]["maximum"] == 100, "notes_search.limit: 1..100")
    check(search["sort"]["enum"] == ["title", "created"], "notes_search.sort: title | created")
    check(search["query"]["maxLength"] == 200, "notes_search.query: <= 200")
    files = tools["files_read"].input_schema["properties"]
    check(files["max_bytes"]["maximum"] == 1048576, "files_read.max_bytes: <= 1 MiB")
    hook = tools["webhook_register"].input_schema["properties"]
    check(hook["secret"].get("writeOnly") is True, "webhook_register.secret: writeOnly")
    check(tools["notes_search"].annotations.read_only_hint is True, "notes_search: readOnlyHint")
    check(tools["notes_delete"].annotations.destructive_hint is True, "notes_delete: destructiveHint")
    policy = tools["notes_create"].meta["io.github.mcp-secure/policy"]
    check(policy["scope"] == "notes:write", "notes_create: policy in _meta", policy)


async def http_checks():
    files = os.environ["FILES_DIR"]
    # No token: the connection is refused before any MCP message is processed; the SDK raises
    # the 401 body's JSON-RPC error (inside its task group's exception group).
    try:
        async with http_session(None) as session:
            await session.list_tools()
        check(False, "no token: refused")
    except BaseException as e:
        leaves = list(flatten(e))
        print(f"   (the Python user sees: {leaves!r})")
        check(
            any(isinstance(x, MCPError) and "unauthorized" in str(x) and "access token" in str(x) for x in leaves),
            "no token: MCPError says an access token is needed",
            leaves,
        )

    async with http_session(os.environ["WRITER"]) as session:
        await check_schemas(session)
        who = await session.call_tool("whoami", {})
        check(not who.is_error and who.structured_content["subject"] == "alice", "whoami: alice", who.structured_content)
        created = await session.call_tool(
            "notes_create", {"title": "from python <b>", "body": "hello\nworld", "tags": ["py", "sdk"]}
        )
        check(not created.is_error, "notes_create: ok", created.structured_content)
        note = created.structured_content
        check(note["title"] == "from python <b>" and note["tags"] == ["py", "sdk"], "notes_create: stored as given", note)
        found = await session.call_tool("notes_search", {"query": "python <", "sort": "title", "limit": 10})
        check(not found.is_error and "from python <b>" in text(found), "notes_search: finds it literally", text(found))
        got = await session.call_tool("notes_get", {"id": note["id"]})
        check(not got.is_error and got.structured_content["body"] == "hello\nworld", "notes_get: ok", text(got))
        read = await session.call_tool("files_read", {"path": "hello.txt", "max_bytes": 64})
        check(not read.is_error and text(read) == "hello, world\n", "files_read: ok", text(read))
        deleted = await session.call_tool("notes_delete", {"id": note["id"]})
        check(not deleted.is_error, "notes_delete: ok", text(deleted))
        gone = await session.call_tool("notes_get", {"id": note["id"]})
        check(gone.is_error and error(gone).get("code") == "not_found", "notes_get after delete: not_found", error(gone))

        # Invalid input: every violation named by field and rule, nothing echoed back.
        bad = await session.call_tool("notes_create", {"title": "", "body": "x", "tags": ["Not A Tag"]})
        err = error(bad)
        fields = sorted(v["field"] for v in err.get("violations", []))
        check(bad.is_error and err.get("code") == "invalid_input", "invalid input: invalid_input", err)
        check(fields == ["tags[0]", "title"], "invalid input: both fields named", fields)
        check("Not A Tag" not in text(bad), "invalid input: the value is not echoed")
        extra = await session.call_tool("notes_create", {"title": "t", "body": "b", "owner": "bob"})
        check(extra.is_error and error(extra).get("code") == "invalid_input", "unknown field: refused", error(extra))
        limit = await session.call_tool("notes_search", {"query": "", "sort": "title", "limit": 1000})
        check(error(limit).get("code") == "invalid_input", "limit 1000: refused", error(limit))
        escape = await session.call_tool("files_read", {"path": "../etc/passwd", "max_bytes": 10})
        check(error(escape).get("code") == "invalid_input", "files_read ../: refused", error(escape))
        check(files not in text(escape), "files_read ../: no server path in the message", text(escape))

    # Another caller sees none of alice's notes.
    async with http_session(os.environ["BOB"]) as session:
        mine = await session.call_tool("notes_create", {"title": "alice's eyes only", "body": ""})
        check(not mine.is_error, "bob: notes_create ok")
        hook = await session.call_tool(
            "webhook_register", {"url": "https://hooks.example.com/notes", "secret": "s3cret-signing-key-123"}
        )
        check(not hook.is_error and "s3cret" not in text(hook), "webhook_register: ok, secret not returned", text(hook))
        private = await session.call_tool(
            "webhook_register", {"url": "https://127.0.0.1/hook", "secret": "s3cret-signing-key-123"}
        )
        check(error(private).get("code") == "invalid_input", "webhook_register to loopback: refused", error(private))
    async with http_session(os.environ["READER"]) as session:
        search = await session.call_tool("notes_search", {"query": "eyes", "sort": "created", "limit": 10})
        check(not search.is_error and "eyes" not in text(search), "alice does not see bob's note", text(search))
        # Wrong scope: the HTTP layer answers 403 with the JSON-RPC error the SDK raises.
        try:
            await session.call_tool("notes_create", {"title": "t", "body": "b"})
            check(False, "reader: notes_create refused")
        except MCPError as e:
            check(
                "insufficient_scope" in str(e) and "notes:write" in str(e),
                "reader: notes_create raises insufficient_scope naming notes:write",
                str(e),
            )

    # Rate: notes_create is 30/min per caller; the first refusal says when to retry.
    async with http_session(os.environ["CAROL_JWT"]) as session:
        who = await session.call_tool("whoami", {})
        check(who.structured_content["subject"] == "carol", "JWT bearer: carol", who.structured_content)
        allowed, refused = 0, None
        for i in range(40):
            r = await session.call_tool("notes_create", {"title": f"n{i}", "body": ""})
            if r.is_error:
                refused = error(r)
                break
            allowed += 1
        check(refused is not None and refused.get("code") == "rate_limited", "rate: refused with rate_limited", refused)
        check(allowed >= 30 and refused.get("retry_after_ms", 0) > 0, "rate: 30 allowed first, retry_after_ms given", (allowed, refused))


async def stdio_checks():
    env = {
        "NOTES_JWT_SECRET": os.environ["NOTES_JWT_SECRET"],
        "NOTES_API_KEYS": os.environ["NOTES_API_KEYS"],
        "NOTES_API_KEY": os.environ["READER"],
        "NOTES_LOG": "off",
        "PATH": os.environ.get("PATH", ""),
    }
    params = StdioServerParameters(
        command=os.environ["SERVER_BIN"],
        # SERVER_ARGS: `--user UID:GID` when the tests run as root, so the demo runs confined.
        args=["stdio", "--db", ":memory:", "--files", os.environ["FILES_DIR"]]
        + os.environ.get("SERVER_ARGS", "").split(),
        env=env,
    )
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as session:
            await session.initialize()
            await check_schemas(session)
            who = await session.call_tool("whoami", {})
            check(who.structured_content["subject"] == "alice", "stdio: the caller is the NOTES_API_KEY's", who.structured_content)
            search = await session.call_tool("notes_search", {"query": "", "sort": "title", "limit": 5})
            check(not search.is_error, "stdio: notes_search ok")
            denied = await session.call_tool("notes_create", {"title": "t", "body": "b"})
            err = error(denied)
            check(
                denied.is_error and err.get("code") == "insufficient_scope" and err.get("required_scope") == "notes:write",
                "stdio: notes_create is insufficient_scope for a reader",
                err,
            )
            bad = await session.call_tool("notes_search", {"query": "", "sort": "random", "limit": 5})
            check(error(bad).get("code") == "invalid_input", "stdio: sort outside the enum refused", error(bad))


async def main():
    await http_checks()
    await stdio_checks()
    print(f"python-sdk interop: {CHECKS} checks passed", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
