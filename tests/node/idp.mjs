// oauth2-mock-server as a third-party identity provider for the demo (tests/tests/idp.rs):
// RS256 keys published at its JWKS URL, OpenID Connect discovery, and tokens whose `aud` is the
// RFC 8707 `resource` the client asked for, as a real authorization server sets it. Prints
// its issuer URL on one line, then serves until it is killed.
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
await server.start(0, "127.0.0.1");
console.log(`issuer ${server.issuer.url}`);
