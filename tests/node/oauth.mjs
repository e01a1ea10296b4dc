// The TypeScript SDK's OAuth client, v1 (@modelcontextprotocol/sdk) or v2
// (@modelcontextprotocol/client) as SDK says, against the demo's development authorization
// server. Run by tests/tests/typescript_sdk.rs with MCP_URL pointing at
// `notes-server serve --dev-auth --dev-auth-user alice --dev-auth-scopes "notes:read notes:write"`
// and NODE_MODULES and SDK set. No token is made by hand: the SDK discovers the authorization server from
// the 401, registers itself, signs in with PKCE for the challenge's scope, reads notes, is refused
// notes_create with a 403 insufficient_scope challenge, re-authorizes (step-up) for what the
// challenge names and creates the note. SDK v1 replaces its scope with the challenge's, so the
// challenge must name the scopes already held too, or the new token would lose notes:read.
// SDK v1 cannot step up by refreshing: see `tokens()` below.
// Prints one line per check; exits non-zero on a failure.
import { createRequire } from "node:module";
import path from "node:path";

import { browse } from "./browse.mjs";

const require = createRequire(path.join(process.env.NODE_MODULES, "x.js"));
const URL_ = process.env.MCP_URL;
const REDIRECT = "http://127.0.0.1:33419/callback";
let passed = 0;

function check(ok, what, detail) {
  if (!ok) {
    console.log(`FAIL ${what}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
  passed += 1;
  console.log(`ok   ${what}`);
}

const SDK = process.env.SDK ?? "v1";
// Who signs in: `alice` on the development server, the identity provider's user through the
// OAuth proxy.
const EXPECTED_USER = process.env.EXPECTED_USER ?? "alice";
async function load() {
  if (SDK === "v1") {
    const { Client } = await import(require.resolve("@modelcontextprotocol/sdk/client/index.js"));
    const { StreamableHTTPClientTransport } = await import(
      require.resolve("@modelcontextprotocol/sdk/client/streamableHttp.js")
    );
    const { UnauthorizedError } = await import(
      require.resolve("@modelcontextprotocol/sdk/client/auth.js")
    );
    return { Client, StreamableHTTPClientTransport, UnauthorizedError };
  }
  return import(require.resolve("@modelcontextprotocol/client"));
}
const { Client, StreamableHTTPClientTransport, UnauthorizedError } = await load();

// Keeps everything in memory and plays the browser: opens the authorization URL without
// following the redirect, and keeps the code it carries for `finishAuth`.
class Provider {
  constructor() {
    this.info = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.authorizations = [];
    this.code = undefined;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: `typescript-sdk-${SDK}-oauth-test`,
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    this.info = info;
  }
  // SDK v1 is not given the refresh token: v1 (1.32) answers a 403 insufficient_scope by
  // refreshing when it holds one, without asking for the challenge's scope, so the new token
  // holds what the old one did and the call is refused again ("Server returned 403 after
  // trying upscoping"). A refresh cannot widen a grant (RFC 6749 §6); without one v1
  // re-authorizes for the scope the challenge names. v2 re-authorizes either way, and keeps
  // it. README, Interoperability.
  tokens() {
    if (!this.saved || SDK !== "v1") return this.saved;
    const { refresh_token: _, ...access } = this.saved;
    return access;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url) {
    this.authorizations.push(url);
    const location = await browse(url, REDIRECT, EXPECTED_USER);
    check(location.origin + location.pathname === REDIRECT, "to the registered redirect URI", location.href);
    check(!location.searchParams.has("error"), "the authorization is granted", location.search);
    this.code = location.searchParams.get("code");
    this.callback = location.searchParams;
  }
  // SDK v2 binds the callback to the authorization server it discovered (SEP-2352).
  saveDiscoveryState(state) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

function scopesOf(url) {
  return (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean).sort();
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

const provider = new Provider();

// SDK v2 checks the callback's `iss` (RFC 9207) and takes the whole callback query; v1 takes
// the code.
function finish(transport) {
  return SDK === "v1" ? transport.finishAuth(provider.code) : transport.finishAuth(provider.callback);
}

// The first connection is refused (401) until the SDK has signed in; it then reconnects.
async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(URL_), { authProvider: provider });
  const client = new Client({ name: "typescript-sdk-oauth-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    return { client, transport };
  } catch (e) {
    check(e instanceof UnauthorizedError, "the first connection needs an authorization", String(e));
    await finish(transport);
    const again = new StreamableHTTPClientTransport(new URL(URL_), { authProvider: provider });
    const client2 = new Client({ name: "typescript-sdk-oauth-test", version: "1.0.0" });
    await client2.connect(again);
    return { client: client2, transport: again };
  }
}

const { client, transport } = await connect();
// The development server's ids begin `dev-`, the proxy's `mcp-`.
check(/^(dev|mcp)-/.test(provider.info?.client_id ?? ""), "the SDK registered itself dynamically", provider.info);
check(provider.authorizations.length === 1, "one authorization so far", provider.authorizations.length);
const first = provider.authorizations[0];
check(first.searchParams.get("code_challenge_method") === "S256", "with PKCE S256", first.search);
check(first.searchParams.get("resource") === URL_, "for this resource (RFC 8707)", first.search);
let token = claims(provider.saved.access_token);
check(token.sub === EXPECTED_USER && token.aud === URL_, "the token is the user's, for this server", token);
check(token.scope.split(" ").includes("notes:read"), "and holds notes:read", token.scope);

const found = await client.callTool({
  name: "notes_search",
  arguments: { query: "", sort: "title", limit: 5 },
});
check(!found.isError, "notes_search works", found);

const note = { name: "notes_create", arguments: { title: "stepped up in TS", body: "via OAuth" } };
let created;
try {
  created = await client.callTool(note);
} catch (e) {
  // SDK v1 re-authorizes on the 403 and, with a redirect to follow, hands the code back here.
  check(e instanceof UnauthorizedError, "notes_create needs a step-up", String(e));
  await finish(transport);
  created = await client.callTool(note);
}
check(provider.authorizations.length === 2, "notes_create triggered a second authorization", provider.authorizations.length);
const second = scopesOf(provider.authorizations[1]);
check(
  second.includes("notes:write") && second.includes("notes:read"),
  "the step-up asks for notes:write and keeps notes:read",
  second,
);
check(!created.isError, "notes_create then succeeds", created);
token = claims(provider.saved.access_token);
const held = token.scope.split(" ");
check(held.includes("notes:write") && held.includes("notes:read"), "the new token holds both", token.scope);

const again = await client.callTool({
  name: "notes_search",
  arguments: { query: "stepped", sort: "title", limit: 5 },
});
check(!again.isError, "notes_search still works after the step-up", again);
const titles = (again.structuredContent?.notes ?? []).map((n) => n.title);
check(JSON.stringify(titles) === JSON.stringify(["stepped up in TS"]), "the note is there", titles);
await client.close();
console.log(`${passed} checks passed, 0 failed`);
