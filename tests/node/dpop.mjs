// A DPoP client nobody here wrote, oauth4webapi (by the author of `jose`), through the demo's
// development authorization server and against its MCP endpoint. Run by
// tests/tests/typescript_sdk.rs with MCP_URL pointing at
// `notes-server serve --dpop required --dev-auth --dev-auth-user alice --dev-auth-scopes "notes:read notes:write"`
// and NODE_MODULES set. The client discovers the authorization server from the resource's
// metadata, registers itself, signs in with PKCE, and gets tokens bound to its own key
// (generated here, non-extractable); it calls a tool with DPoP proofs it makes, is refused a
// tool its scope lacks with a DPoP `insufficient_scope` challenge, steps up, refreshes with a
// proof, and finds its token useless as a bearer token.
// Prints one line per check; exits non-zero on a failure.
import path from "node:path";
import { pathToFileURL } from "node:url";

const oauth = await import(
  pathToFileURL(path.join(process.env.NODE_MODULES, "oauth4webapi/build/index.js")).href
);
const MCP_URL = new URL(process.env.MCP_URL);
const REDIRECT = "http://127.0.0.1:33420/callback";
const insecure = { [oauth.allowInsecureRequests]: true };
let passed = 0;

function check(ok, what, detail) {
  if (!ok) {
    console.log(`FAIL ${what}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
  passed += 1;
  console.log(`ok   ${what}`);
}

// The resource's metadata names its authorization server and says DPoP is required.
const prm = await (
  await fetch(new URL(`/.well-known/oauth-protected-resource${MCP_URL.pathname}`, MCP_URL))
).json();
check(prm.dpop_bound_access_tokens_required === true, "the resource requires DPoP", prm);
check(
  prm.dpop_signing_alg_values_supported?.includes("ES256"),
  "the resource takes ES256 proofs",
  prm,
);
const issuer = new URL(prm.authorization_servers[0]);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }),
);
check(
  as.dpop_signing_alg_values_supported?.includes("ES256"),
  "the authorization server issues DPoP-bound tokens",
  as,
);
const client = await oauth.processDynamicClientRegistrationResponse(
  await oauth.dynamicClientRegistrationRequest(
    as,
    {
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      client_name: "oauth4webapi DPoP test",
    },
    insecure,
  ),
);
check(typeof client.client_id === "string", "registered", client);

const keyPair = await oauth.generateKeyPair("ES256");
const DPoP = oauth.DPoP(client, keyPair);

// Against `--dpop-nonces` (DPOP_NONCES=1), a request is first answered `use_dpop_nonce` with the
// nonce to use; oauth4webapi keeps it (its DPoP handle reads DPoP-Nonce) and the request is made
// again, as its documentation shows.
const NONCES = process.env.DPOP_NONCES === "1";
let nonceRetries = 0;
async function withNonce(request) {
  try {
    return await request();
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e;
    nonceRetries++;
    return await request();
  }
}

// The authorization code flow with PKCE for `scope`; tokens bound to the key.
async function signIn(scope) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    scope,
    state,
    resource: MCP_URL.href,
  })) {
    url.searchParams.set(k, v);
  }
  const authorized = await fetch(url, { redirect: "manual" });
  const location = new URL(authorized.headers.get("location"));
  const params = oauth.validateAuthResponse(as, client, location, state);
  return withNonce(async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      { DPoP, additionalParameters: { resource: MCP_URL.href }, ...insecure },
    );
    return oauth.processAuthorizationCodeResponse(as, client, response);
  });
}

const meta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
};
// A stateless 2026-07-28 `tools/call`, with the token and a fresh proof made by oauth4webapi.
async function call(token, name, args) {
  const headers = new Headers({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": name,
  });
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name, arguments: args, _meta: meta },
  });
  const response = await withNonce(() =>
    oauth.protectedResourceRequest(token, "POST", MCP_URL, headers, body, {
      DPoP,
      ...insecure,
    }),
  );
  const text = await response.text();
  const json = text.startsWith("{")
    ? JSON.parse(text)
    : JSON.parse(
        text
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5))
          .find((d) => d.includes('"id"')),
      );
  return { status: response.status, json };
}

let tokens = await signIn("notes:read");
check(tokens.token_type === "dpop", "the token is DPoP-bound", tokens.token_type);
const me = await call(tokens.access_token, "whoami", {});
check(me.status === 200, "a tool call with oauth4webapi's proof", me);
check(
  JSON.parse(me.json.result.content[0].text).subject === "alice",
  "the caller is alice",
  me.json,
);

// The same token as a bearer token is refused, and the challenge offers DPoP only.
const bearer = await fetch(MCP_URL, {
  method: "POST",
  headers: {
    authorization: `Bearer ${tokens.access_token}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": "whoami",
  },
  body: JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "whoami", arguments: {}, _meta: meta },
  }),
});
check(bearer.status === 401, "the bound token as Bearer is refused", bearer.status);
check(
  bearer.headers.get("www-authenticate")?.startsWith("DPoP "),
  "the challenge is DPoP",
  bearer.headers.get("www-authenticate"),
);

// Step-up: a tool the scope lacks is refused with a DPoP insufficient_scope challenge.
let stepUp;
try {
  await call(tokens.access_token, "notes_create", { title: "t", body: "" });
} catch (e) {
  stepUp = e;
}
check(stepUp instanceof oauth.WWWAuthenticateChallengeError, "notes_create is challenged", `${stepUp}`);
const challenge = stepUp.cause[0];
check(
  challenge.scheme === "dpop" && challenge.parameters.error === "insufficient_scope",
  "a DPoP insufficient_scope challenge",
  challenge,
);
tokens = await signIn(challenge.parameters.scope);
const created = await call(tokens.access_token, "notes_create", { title: "bound", body: "" });
check(created.status === 200 && !created.json.result.isError, "after step-up the note is created", created.json);

// Refresh with a proof of the same key: a new bound token that works.
const refreshed = await withNonce(async () =>
  oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, {
      DPoP,
      ...insecure,
    }),
  ),
);
check(refreshed.token_type === "dpop", "the refreshed token is DPoP-bound", refreshed.token_type);
const again = await call(refreshed.access_token, "whoami", {});
check(again.status === 200, "the refreshed token works with a proof", again);

// Without nonces nothing is answered use_dpop_nonce; with them, the first token request is
// (the resource at the same origin then takes the nonce oauth4webapi kept).
check(
  NONCES ? nonceRetries >= 1 : nonceRetries === 0,
  "use_dpop_nonce answers as the server requires nonces or not",
  nonceRetries,
);

console.log(`${passed} checks passed`);
