// A headless user's browser for the OAuth tests: from an authorization URL to the redirect
// back to the client. It follows redirects (through the OAuth proxy's identity provider, when
// there is one) and approves a consent page, sending back the cookie the page set (to that
// page's origin only). Imported by oauth.mjs; run by .ci/conformance.sh as
// `node browse.mjs URL REDIRECT_PREFIX [USER]`, which then opens the redirect (the suite's
// callback).

/// The URL the browser is sent to that starts with `redirect`; `user` is typed where a page
/// asks for one (the development server's).
export async function browse(start, redirect, user) {
  const origin = new URL(start).origin;
  let cookie;
  let request = { url: new URL(start), method: "GET" };
  for (let hop = 0; hop < 10; hop += 1) {
    const headers = {};
    if (cookie && request.url.origin === origin) headers.cookie = cookie;
    if (request.body) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(request.url, {
      redirect: "manual",
      method: request.method,
      headers,
      body: request.body,
    });
    const set = response.headers.get("set-cookie");
    if (set && request.url.origin === origin) cookie = set.split(";")[0];
    if (response.status === 302) {
      const next = new URL(response.headers.get("location"), request.url);
      if (next.href.startsWith(redirect)) return next;
      request = { url: next, method: "GET" };
      continue;
    }
    const html = await response.text();
    const ticket = html.match(/name="ticket" value="([^"]+)"/)?.[1];
    if (response.status !== 200 || !ticket) {
      throw new Error(`no consent page to approve at ${request.url}: ${response.status} ${html}`);
    }
    const action = new URL(html.match(/action="([^"]+)"/)[1], request.url);
    const form = new URLSearchParams({ ticket, decision: "approve" });
    if (html.includes('name="user"')) form.set("user", user);
    request = { url: action, method: "POST", body: form.toString() };
  }
  throw new Error(`the browser did not reach ${redirect} within 10 hops from ${start}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [start, redirect, user = "conformance"] = process.argv.slice(2);
  const back = await browse(start, redirect, user);
  const answered = await fetch(back);
  if (!answered.ok) throw new Error(`the client's callback answered ${answered.status}`);
}
