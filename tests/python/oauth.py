"""The official Python MCP SDK's OAuth client against the demo's development authorization server.

Run by `tests/tests/python_sdk.rs` with MCP_URL pointing at `notes-server serve --dev-auth
--dev-auth-user alice --dev-auth-scopes "notes:read notes:write"`. No token is made by hand: the
SDK discovers the authorization server from the 401, registers itself (RFC 7591), follows the
authorization code flow with PKCE (the redirect is followed headless, as a browser would), reads
notes with the `notes:read` it was offered first, is refused `notes_create` with a 403
`insufficient_scope` challenge, re-authorizes for `notes:write` (step-up) and then creates the
note. Prints one line per check; exits non-zero on the first failure.
"""

import asyncio
import base64
import json
import os
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

URL = os.environ["MCP_URL"]
# Who signs in: `alice` on the development server, the identity provider's user through the
# OAuth proxy.
EXPECTED_USER = os.environ.get("EXPECTED_USER", "alice")
CHECKS = 0


def check(condition, what, detail=None):
    global CHECKS
    if not condition:
        print(f"FAIL: {what}" + (f": {detail!r}" if detail is not None else ""), flush=True)
        sys.exit(1)
    CHECKS += 1
    print(f"ok: {what}", flush=True)


class MemoryStorage(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull):
        self.client_info = client_info


async def browse(start):
    """Plays the user's browser from the authorization URL to the redirect back to the client:
    follows redirects (through the OAuth proxy's identity provider, when there is one) and
    approves a consent page with the cookie it set (sent back to its own origin only)."""
    origin = urlparse(start)._replace(path="", params="", query="", fragment="").geturl()
    cookie = None
    method, url, form = "GET", start, None
    async with httpx2.AsyncClient(follow_redirects=False) as http:
        for _ in range(10):
            same = url.startswith(origin + "/")
            headers = {"cookie": cookie} if cookie and same else {}
            if method == "GET":
                response = await http.get(url, headers=headers)
            else:
                response = await http.post(url, headers=headers, data=form)
            if same and "set-cookie" in response.headers:
                cookie = response.headers["set-cookie"].split(";")[0]
            if response.status_code == 302:
                url = str(httpx2.URL(url).join(response.headers["location"]))
                if url.startswith("http://127.0.0.1:33418/"):
                    return url
                method, form = "GET", None
                continue
            html = response.text
            check(response.status_code == 200 and 'name="ticket"' in html, "a consent page to approve", html)
            ticket = html.split('name="ticket" value="')[1].split('"')[0]
            action = html.split('action="')[1].split('"')[0]
            form = {"ticket": ticket, "decision": "approve"}
            if 'name="user"' in html:
                form["user"] = EXPECTED_USER
            method, url = "POST", str(httpx2.URL(url).join(action))
    check(False, "the browser reached the client within 10 hops", start)


class HeadlessBrowser:
    """Opens the authorization URL as a browser would and catches the redirect to the client."""

    def __init__(self):
        self.authorization_urls = []
        self.result = None

    async def redirect_handler(self, url: str):
        self.authorization_urls.append(url)
        location = urlparse(await browse(url))
        check(location.netloc == "127.0.0.1:33418", "to the registered redirect URI", location.netloc)
        query = parse_qs(location.query)
        check("error" not in query, "the authorization is granted", query)
        self.result = AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
        )

    async def callback_handler(self):
        return self.result


def scopes_of(url):
    return parse_qs(urlparse(url).query).get("scope", [""])[0].split()


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def main():
    storage = MemoryStorage()
    browser = HeadlessBrowser()
    provider = OAuthClientProvider(
        server_url=URL,
        client_metadata=OAuthClientMetadata(
            client_name="python-sdk-oauth-test",
            redirect_uris=["http://127.0.0.1:33418/callback"],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )
    async with create_mcp_http_client(auth=provider) as http:
        async with streamable_http_client(URL, http_client=http) as (r, w, *_):
            async with ClientSession(r, w) as session:
                await session.initialize()
                check(storage.client_info is not None, "the SDK registered itself dynamically")
                # The development server's ids begin `dev-`, the proxy's `mcp-`.
                check(storage.client_info.client_id.startswith(("dev-", "mcp-")), "with a client id from the server")
                check(len(browser.authorization_urls) == 1, "one authorization so far")
                first = browser.authorization_urls[0]
                check(scopes_of(first) == ["notes:read"], "it asked for the 401's scope only", scopes_of(first))
                query = parse_qs(urlparse(first).query)
                check(query.get("code_challenge_method") == ["S256"], "with PKCE S256")
                check(query.get("resource") == [URL], "for this resource (RFC 8707)", query.get("resource"))
                token = claims(storage.tokens.access_token)
                check(token["sub"] == EXPECTED_USER and token["aud"] == URL, "the token is the user's, for this server", token)
                check(token["scope"] == "notes:read", "and holds notes:read only", token["scope"])

                found = await session.call_tool("notes_search", {"query": "", "sort": "title", "limit": 5})
                check(not found.is_error, "notes_search works with notes:read", found)

                created = await session.call_tool("notes_create", {"title": "stepped up", "body": "via OAuth"})
                check(len(browser.authorization_urls) == 2, "notes_create triggered a second authorization (step-up)")
                second = scopes_of(browser.authorization_urls[1])
                check("notes:write" in second, "asking for notes:write", second)
                check(not created.is_error, "notes_create then succeeds", created)
                token = claims(storage.tokens.access_token)
                check("notes:write" in token["scope"].split(), "the new token holds notes:write", token["scope"])

                found = await session.call_tool("notes_search", {"query": "stepped", "sort": "title", "limit": 5})
                titles = [n["title"] for n in (found.structured_content or {}).get("notes", [])]
                check(titles == ["stepped up"], "the note is there", titles)
    print(f"{CHECKS} checks passed", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
