// A misbehaving upstream identity provider for the OAuth proxy's attack probes
// (tests/tests/attack_proxy.rs): oauth2-mock-server, as tests/node/idp.mjs runs it (its client
// `mcp-proxy` must authenticate with `proxy-secret`), whose answers to the proxy's code
// exchange are tampered with as the current mode says. A line `mode NAME` on standard input
// switches the mode (acknowledged by `mode NAME` on standard output, before any later
// request). `IDP_ADVERTISE_ISS=1` makes its discovery document say it sends `iss` with its
// authorization responses (RFC 9207), which the mock never does. Prints its issuer URL on one
// line, then serves until it is killed.
import { createRequire } from "node:module";
import crypto from "node:crypto";
import path from "node:path";
import readline from "node:readline";

const require = createRequire(path.join(process.env.NODE_MODULES, "x.js"));
const { OAuth2Server } = await import(require.resolve("oauth2-mock-server"));

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
let mode = "normal";

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const decode = (part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
const now = () => Math.floor(Date.now() / 1000);

if (process.env.IDP_ADVERTISE_ISS === "1") {
  server.service.on("beforeWellKnownOpenIdConfiguration", (response) => {
    response.body.authorization_response_iss_parameter_supported = true;
  });
}

// The ID token's claims (the access token is the one with `amr`).
server.service.on("beforeTokenSigning", (token) => {
  const p = token.payload;
  if ("amr" in p) {
    return;
  }
  switch (mode) {
    case "aud-other":
      p.aud = "another-client";
      break;
    case "aud-several-no-azp":
      p.aud = [p.aud, "another-client"];
      break;
    case "aud-several-azp-other":
      p.aud = [p.aud, "another-client"];
      p.azp = "another-client";
      break;
    case "expired":
      p.iat = now() - 7200;
      p.nbf = now() - 7200;
      p.exp = now() - 3600;
      break;
    case "not-yet-valid":
      p.nbf = now() + 3600;
      break;
    case "no-exp":
      delete p.exp;
      break;
    case "no-nonce":
      delete p.nonce;
      break;
    case "wrong-nonce":
      p.nonce = "a-nonce-the-proxy-never-sent";
      break;
    case "iss-other":
      p.iss = "http://127.0.0.1:9/another-issuer";
      break;
    case "iss-trailing-slash":
      p.iss = `${p.iss}/`;
      break;
    case "no-sub":
      delete p.sub;
      break;
    case "sub-empty":
      p.sub = "";
      break;
    case "sub-control":
      p.sub = "john\ndoe";
      break;
    case "sub-not-string":
      p.sub = 42;
      break;
    case "sub-long":
      p.sub = "x".repeat(300);
      break;
    default:
      break;
  }
});

// The token response as a whole: the ID token replaced, removed, or the answer an error.
server.service.on("beforeResponse", (response, req) => {
  const clientAuth = req.headers.authorization ?? "";
  const proxyClient = "Basic " + Buffer.from("mcp-proxy:proxy-secret").toString("base64");
  if (req.body?.grant_type !== "authorization_code") {
    return;
  }
  if (clientAuth !== proxyClient) {
    response.statusCode = 401;
    response.body = { error: "invalid_client" };
    return;
  }
  const body = response.body;
  const [h, p] = String(body.id_token ?? "..").split(".");
  switch (mode) {
    case "alg-none": {
      const header = { ...decode(h), alg: "none" };
      body.id_token = `${b64(header)}.${p}.`;
      break;
    }
    case "hs256-client-secret":
    case "hs256-client-secret-no-kid": {
      const header = { ...decode(h), alg: "HS256" };
      if (mode.endsWith("no-kid")) {
        delete header.kid;
      }
      const input = `${b64(header)}.${p}`;
      const sig = crypto.createHmac("sha256", "proxy-secret").update(input).digest("base64url");
      body.id_token = `${input}.${sig}`;
      break;
    }
    case "crit":
    case "resigned": {
      // Signed with the provider's own key, but naming an extension the proxy must refuse
      // (RFC 7515 §4.1.11); jose will not sign it, so it is signed here.
      // `resigned`: the same, without `crit` (the control: this signing is sound).
      const header = mode === "crit"
        ? { ...decode(h), crit: ["urn:example:unknown"], "urn:example:unknown": true }
        : decode(h);
      const [jwk] = server.issuer.keys.toJSON(true);
      const key = crypto.createPrivateKey({ key: jwk, format: "jwk" });
      const input = `${b64(header)}.${p}`;
      const sig = crypto.sign("RSA-SHA256", Buffer.from(input), key).toString("base64url");
      body.id_token = `${input}.${sig}`;
      break;
    }
    case "other-key": {
      // The provider's key id, signed with a key it never published.
      const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
      const input = `${h}.${p}`;
      const sig = crypto.sign("RSA-SHA256", Buffer.from(input), privateKey).toString("base64url");
      body.id_token = `${input}.${sig}`;
      break;
    }
    case "access-token-as-id-token":
      // The provider's access token (its `aud` is no client id) where the ID token goes.
      body.id_token = body.access_token;
      break;
    case "no-id-token":
      delete body.id_token;
      break;
    case "no-token-type":
      delete body.token_type;
      break;
    case "token-error":
      response.statusCode = 400;
      response.body = {
        error: "invalid_grant",
        error_description: "PROVIDER-ANSWER-MARKER internal detail",
      };
      break;
    case "malformed-id-token":
      body.id_token = "PROVIDER-ANSWER-MARKER.not.a.jwt";
      break;
    default:
      break;
  }
});

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const [word, name] = line.trim().split(/\s+/);
  if (word === "mode" && name) {
    mode = name;
    console.log(`mode ${name}`);
  }
});

const http = await import("node:http");
const front = http.createServer((req, res) => server.service.requestHandler(req, res));
await new Promise((resolve) => front.listen(0, "127.0.0.1", resolve));
server.issuer.url = `http://127.0.0.1:${front.address().port}`;
console.log(`issuer ${server.issuer.url}`);
