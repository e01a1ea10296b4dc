// The demo server seen by the TypeScript SDK v1 (@modelcontextprotocol/sdk) and v2
// (@modelcontextprotocol/client): every refusal reaches the application with its code, on
// tools that declare an output schema too (v1 checks structured content even on an error
// result and throws when it does not conform). Run by tests/tests/typescript_sdk.rs with
// MCP_URL, WRITER, READER, ALL and NODE_MODULES set; prints one line per check.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_MODULES, "x.js"));
const ERROR_KEY = "io.github.mcp-secure/error";
let failures = 0;
let passed = 0;

function check(ok, what, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok   ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL ${what}: ${JSON.stringify(detail)}`);
  }
}

async function load(which) {
  if (which === "v1") {
    const { Client } = await import(require.resolve("@modelcontextprotocol/sdk/client/index.js"));
    const { StreamableHTTPClientTransport } = await import(
      require.resolve("@modelcontextprotocol/sdk/client/streamableHttp.js")
    );
    return { Client, StreamableHTTPClientTransport };
  }
  return import(require.resolve("@modelcontextprotocol/client"));
}

async function connect(sdk, key) {
  const client = new sdk.Client({ name: "mcp-secure-interop", version: "1.0.0" });
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const transport = new sdk.StreamableHTTPClientTransport(new URL(process.env.MCP_URL), {
    requestInit: { headers },
  });
  await client.connect(transport);
  return client;
}

// What the application gets from a call: the result, or what the SDK threw.
async function attempt(client, name, args) {
  try {
    return { result: await client.callTool({ name, arguments: args }) };
  } catch (e) {
    return { threw: String(e?.message ?? e) };
  }
}

function codeOf(outcome) {
  return outcome.result?._meta?.[ERROR_KEY]?.code;
}

async function run(which) {
  const sdk = await load(which);
  const writer = await connect(sdk, process.env.WRITER);
  // The listing first: the SDKs keep each tool's output schema from it and check results.
  const tools = (await writer.listTools()).tools;
  const withSchema = tools.filter((t) => t.outputSchema).map((t) => t.name);
  check(
    ["whoami", "notes_create", "notes_get"].every((n) => withSchema.includes(n)),
    `${which}: tools with an output schema listed`,
    withSchema,
  );

  const created = await attempt(writer, "notes_create", { title: `from ${which}`, body: "b" });
  check(
    created.result && !created.result.isError && created.result.structuredContent?.title === `from ${which}`,
    `${which}: notes_create succeeds with conforming structured content`,
    created,
  );

  // Every tool of the demo is listed, and each does its job for a caller with its scope.
  const names = tools.map((t) => t.name).sort().join(",");
  check(
    names === "files_read,notes_create,notes_delete,notes_get,notes_search,notes_update,webhook_register,whoami",
    `${which}: every tool is listed`,
    names,
  );
  const id = created.result?.structuredContent?.id;
  const found = await attempt(writer, "notes_search", { query: `from ${which}`, sort: "title", limit: 5 });
  check(
    !found.result?.isError && (found.result?.structuredContent?.notes ?? []).some((n) => n.id === id),
    `${which}: notes_search finds it`,
    found,
  );
  const got = await attempt(writer, "notes_get", { id });
  check(!got.result?.isError && got.result?.structuredContent?.id === id, `${which}: notes_get reads it`, got);
  const read = await attempt(writer, "files_read", { path: "hello.txt", max_bytes: 64 });
  check(
    !read.result?.isError && JSON.stringify(read.result?.content ?? []).includes("hello, world"),
    `${which}: files_read reads a file`,
    read,
  );
  const all = await connect(sdk, process.env.ALL);
  const hook = await attempt(all, "webhook_register", {
    url: `https://hooks.example.com/${which}`,
    secret: "a-webhook-secret-0123456789",
  });
  check(!hook.result?.isError, `${which}: webhook_register registers`, hook);
  check(
    !JSON.stringify(hook).includes("a-webhook-secret-0123456789"),
    `${which}: webhook_register does not echo the secret`,
    hook,
  );
  const me = await attempt(all, "whoami", {});
  check(!me.result?.isError && JSON.stringify(me.result).includes("bob"), `${which}: whoami names the caller`, me);
  await all.close();
  const deleted = await attempt(writer, "notes_delete", { id });
  check(!deleted.result?.isError, `${which}: notes_delete deletes it`, deleted);
  const gone = await attempt(writer, "notes_get", { id });
  check(codeOf(gone) === "not_found", `${which}: the deleted note is gone`, gone);

  const invalid = await attempt(writer, "notes_create", { title: "", body: "b", tags: ["Not A Tag"] });
  const violations = invalid.result?._meta?.[ERROR_KEY]?.violations ?? [];
  check(
    codeOf(invalid) === "invalid_input" && invalid.result.isError === true,
    `${which}: invalid_input reaches the application (schema tool)`,
    invalid,
  );
  check(
    violations.map((v) => v.field).sort().join(",") === "tags[0],title",
    `${which}: invalid_input names each field`,
    violations,
  );
  check(
    invalid.result?.structuredContent === undefined,
    `${which}: no structured content on an error of a schema tool`,
    invalid.result,
  );
  check(
    invalid.result?.content?.[0]?.text?.startsWith("invalid_input: "),
    `${which}: the text block starts with the code`,
    invalid.result?.content,
  );

  const missing = await attempt(writer, "notes_get", { id: 987654321 });
  check(codeOf(missing) === "not_found", `${which}: not_found reaches the application (schema tool)`, missing);

  // whoami (10/s, an output schema): called until the limiter refuses.
  let limited;
  for (let i = 0; i < 60 && !limited; i++) {
    const outcome = await attempt(writer, "whoami", {});
    if (outcome.threw || outcome.result?.isError) limited = outcome;
  }
  check(codeOf(limited ?? {}) === "rate_limited", `${which}: rate_limited reaches the application`, limited);
  check(
    Number.isInteger(limited?.result?._meta?.[ERROR_KEY]?.retry_after_ms),
    `${which}: rate_limited carries retry_after_ms`,
    limited,
  );

  // A tool without an output schema keeps the error in structured content as well.
  const escape = await attempt(writer, "files_read", { path: "../x", max_bytes: 1 });
  check(
    codeOf(escape) === "invalid_input" && escape.result?.structuredContent?.error?.code === "invalid_input",
    `${which}: a tool without an output schema has the error in both places`,
    escape,
  );
  await writer.close();

  // Refused before the tool: the HTTP layer's 403 and 401 name their code in what is thrown.
  const reader = await connect(sdk, process.env.READER);
  const scope = await attempt(reader, "notes_create", { title: "t", body: "b" });
  check(
    /insufficient.scope/i.test(scope.threw ?? "") && scope.threw.includes("notes:write"),
    `${which}: insufficient_scope (403) is visible, naming the scope`,
    scope,
  );
  await reader.close().catch(() => {});
  let anonymous;
  try {
    await connect(sdk, undefined);
    anonymous = "connected";
  } catch (e) {
    anonymous = String(e?.message ?? e);
  }
  check(
    /401|unauthorized|Unauthorized/.test(anonymous),
    `${which}: without credentials the 401 is visible`,
    anonymous,
  );
}

for (const which of ["v1", "v2"]) {
  try {
    await run(which);
  } catch (e) {
    check(false, `${which}: ran to the end`, String(e?.stack ?? e));
  }
}
console.log(`${passed} checks passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
