// oauth2-mock-server as a third-party identity provider for the demo (tests/tests/idp.rs):
// RS256 keys published at its JWKS URL, OpenID Connect discovery, and tokens whose `aud` is the
// RFC 8707 `resource` the client asked for, as a real authorization server sets it. Its
// introspection endpoint (RFC 7662) answers for the tokens it issued, to the client
// `mcp-client` / `mcp-secret` only, and says a token is inactive once a line arrives on
// its standard input. Prints its issuer URL on one line, then serves until it is killed.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_MODULES, "x.js"));
const { OAuth2Server } = await import(require.resolve("oauth2-mock-server"));

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
server.service.on("beforeTokenSigning", (token, req) => {
  if (req.body?.resource) {
    token.payload.aud = req.body.resource;
  }
});
// The OAuth proxy's upstream client: its code exchange must authenticate as `mcp-proxy` with
// `proxy-secret` (client_secret_basic), as a confidential client at a real provider.
server.service.on("beforeResponse", (response, req) => {
  const clientAuth = req.headers.authorization ?? "";
  const proxyClient = "Basic " + Buffer.from("mcp-proxy:proxy-secret").toString("base64");
  const claimsProxy = clientAuth.startsWith("Basic ") &&
    Buffer.from(clientAuth.slice(6), "base64").toString("utf8").startsWith("mcp-proxy:");
  if (req.body?.grant_type === "authorization_code" && claimsProxy && clientAuth !== proxyClient) {
    response.statusCode = 401;
    response.body = { error: "invalid_client" };
  }
  // Once revoked (a line on standard input), no sign-in is renewed.
  if (req.body?.grant_type === "refresh_token" && revoked) {
    response.statusCode = 400;
    response.body = { error: "invalid_grant" };
  }
});
let revoked = false;
server.service.on("beforeIntrospect", (response, req) => {
  const expected = "Basic " + Buffer.from("mcp-client:mcp-secret").toString("base64");
  if (req.headers.authorization !== expected) {
    response.statusCode = 401;
    response.body = { error: "invalid_client" };
    return;
  }
  const parts = String(req.body?.token ?? "").split(".");
  if (revoked || parts.length !== 3) {
    response.body = { active: false };
    return;
  }
  const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  response.body = { active: true, client_id: "a-client", ...claims };
});
// The test's switch: a line on standard input revokes every token issued so far.
process.stdin.on("data", () => {
  revoked = true;
  console.log("revoked");
});
// The mock's introspection route reads no body: the form is parsed here, in front of it.
const http = await import("node:http");
const front = http.createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/introspect") {
    server.service.requestHandler(req, res);
    return;
  }
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    req.body = Object.fromEntries(new URLSearchParams(body));
    server.service.requestHandler(req, res);
  });
});
await new Promise((resolve) => front.listen(0, "127.0.0.1", resolve));
server.issuer.url = `http://127.0.0.1:${front.address().port}`;
console.log(`issuer ${server.issuer.url}`);
