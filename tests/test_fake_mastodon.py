"""The fake Mastodon servers speak the real API: OAuth with PKCE, follows, limits, CORS, big ids."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.fake_mastodon import FakeFediverse, serve_fediverse
from tests.fake_network import FakeWorld

HOME, OTHER = "social.fakenet.org", "other.fakenet.org"
APP_REDIRECT = "http://127.0.0.1:8000/en/follow/"
DAY_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the follow window is aligned on days


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(method: str, url: str, form: dict | None = None, body: Any = None, token: str = "", **headers: str) -> Answer:
    data = None
    if form is not None:
        data = urlencode(form, doseq=True).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=10) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    kind = answer_headers.get("Content-Type", "")
    return Answer(status, answer_headers, json.loads(raw) if "json" in kind and raw else raw.decode())


@dataclass
class Setup:
    fediverse: FakeFediverse
    urls: dict[str, str]

    def url(self, domain: str, path: str) -> str:
        return self.urls[domain] + path


@pytest.fixture
def setup() -> Iterator[Setup]:
    fediverse = FakeFediverse()
    fediverse.add_server(HOME)
    fediverse.add_server(OTHER)
    fediverse.add_person(f"ana@{HOME}", password="ana's password", display_name="Ana")
    fediverse.add_person(f"ben@{HOME}", display_name="Ben")
    fediverse.add_person(f"cleo@{OTHER}", display_name="Cleo")
    fediverse.add_person(f"dan@{OTHER}", display_name="Dan", locked=True)
    with serve_fediverse(fediverse) as urls:
        yield Setup(fediverse, urls)


def register_app(setup: Setup, domain: str = HOME, scopes: str = "read write:follows") -> dict:
    answer = call("POST", setup.url(domain, "/api/v1/apps"),
                  body={"client_name": "Passerelle", "redirect_uris": APP_REDIRECT, "scopes": scopes,
                        "website": "http://127.0.0.1:8000/"})
    assert answer.status == 200, answer.body
    return answer.body


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(setup: Setup, app: dict, challenge: str | None, decision: str = "authorize",
              username: str = "ana", password: str = "ana's password", domain: str = HOME) -> Answer:
    fields = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": APP_REDIRECT,
              "scope": " ".join(app["scopes"]), "state": "st<ate>&1"}
    if challenge:
        fields |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = call("GET", setup.url(domain, "/oauth/authorize?" + urlencode(fields)))
    assert page.status == 200 and 'name="password"' in page.body and "Authorize" in page.body and "Deny" in page.body
    return call("POST", setup.url(domain, "/oauth/authorize"),
                form={**fields, "username": username, "password": password, "decision": decision})


def code_from(answer: Answer) -> str:
    assert answer.status == 302, answer.body
    location = urlsplit(answer.header("Location") or "")
    assert f"{location.scheme}://{location.netloc}{location.path}" == APP_REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st<ate>&1"]
    return query["code"][0]


def exchange(setup: Setup, app: dict, code: str, verifier: str | None, secret: str | None = None,
             domain: str = HOME) -> Answer:
    form = {"grant_type": "authorization_code", "client_id": app["client_id"], "redirect_uri": APP_REDIRECT,
            "code": code, "client_secret": app["client_secret"] if secret is None else secret}
    if verifier is not None:
        form["code_verifier"] = verifier
    return call("POST", setup.url(domain, "/oauth/token"), form={k: v for k, v in form.items() if v != ""})


def sign_in(setup: Setup, scopes: str = "read write:follows") -> str:
    app = register_app(setup, scopes=scopes)
    verifier, challenge = pkce_pair()
    token = exchange(setup, app, code_from(authorize(setup, app, challenge)), verifier)
    assert token.status == 200, token.body
    return token.body["access_token"]


def test_the_whole_oauth_and_follow_path(setup: Setup) -> None:
    # A follow answer shows the tighter of the two limits: make it the follow limit here.
    setup.fediverse.servers[HOME].api_limit = 10_000
    app = register_app(setup)
    assert app["client_id"] and app["client_secret"] and app["redirect_uris"] == [APP_REDIRECT]
    assert app["scopes"] == ["read", "write:follows"] and app["client_secret_expires_at"] == 0
    verifier, challenge = pkce_pair()
    token = exchange(setup, app, code_from(authorize(setup, app, challenge)), verifier)
    assert token.status == 200
    assert token.body["token_type"] == "Bearer" and token.body["scope"] == "read write:follows"
    assert isinstance(token.body["created_at"], int)
    access = token.body["access_token"]

    me = call("GET", setup.url(HOME, "/api/v1/accounts/verify_credentials"), token=access)
    assert me.status == 200 and me.body["acct"] == "ana" and "source" in me.body

    found = call("GET", setup.url(HOME, "/api/v2/search?" + urlencode(
        {"q": f"@cleo@{OTHER}", "type": "accounts", "resolve": "true", "limit": 1})), token=access)
    assert found.status == 200 and [a["acct"] for a in found.body["accounts"]] == [f"cleo@{OTHER}"]
    cleo_id = found.body["accounts"][0]["id"]

    before = call("GET", setup.url(HOME, f"/api/v1/accounts/relationships?id[]={cleo_id}"), token=access)
    assert [(r["id"], r["following"]) for r in before.body] == [(cleo_id, False)]

    followed = call("POST", setup.url(HOME, f"/api/v1/accounts/{cleo_id}/follow"), token=access)
    assert followed.status == 200 and followed.body["id"] == cleo_id
    assert followed.body["following"] is True and followed.body["requested"] is False
    assert followed.header("X-RateLimit-Limit") == "400" and followed.header("X-RateLimit-Remaining") == "399"
    again = call("POST", setup.url(HOME, f"/api/v1/accounts/{cleo_id}/follow"), token=access)
    assert again.status == 200 and again.body["following"] is True
    assert again.header("X-RateLimit-Remaining") == "399"  # following again creates nothing
    assert setup.fediverse.following(f"ana@{HOME}") == [f"cleo@{OTHER}"]

    dan = call("GET", setup.url(HOME, "/api/v2/search?" + urlencode(
        {"q": f"dan@{OTHER}", "type": "accounts", "resolve": "true"})), token=access).body["accounts"][0]
    requested = call("POST", setup.url(HOME, f"/api/v1/accounts/{dan['id']}/follow"), token=access)
    assert (requested.body["following"], requested.body["requested"]) == (False, True)  # a locked account
    assert setup.fediverse.following(f"ana@{HOME}", requested=True) == [f"dan@{OTHER}"]

    after = call("GET", setup.url(HOME, f"/api/v1/accounts/relationships?id[]={cleo_id}&id[]={dan['id']}"),
                 token=access)
    assert [(r["following"], r["requested"]) for r in after.body] == [(True, False), (False, True)]
    listed = call("GET", setup.url(HOME, f"/api/v1/accounts/{me.body['id']}/following"), token=access)
    assert [a["acct"] for a in listed.body] == [f"cleo@{OTHER}"]

    revoked = call("POST", setup.url(HOME, "/oauth/revoke"),
                   form={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": access})
    assert revoked.status == 200
    refused = call("GET", setup.url(HOME, "/api/v1/accounts/verify_credentials"), token=access)
    assert refused.status == 401 and refused.body == {"error": "The access token was revoked"}


def test_denying_or_a_wrong_password_gives_no_code(setup: Setup) -> None:
    app = register_app(setup)
    denied = authorize(setup, app, None, decision="deny")
    assert denied.status == 302
    query = parse_qs(urlsplit(denied.header("Location") or "").query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st<ate>&1"] and "code" not in query
    wrong = authorize(setup, app, None, password="guess")
    assert wrong.status == 422 and "Invalid email or password." in wrong.body and wrong.header("Location") is None
    elsewhere = authorize(setup, app, None, username=f"cleo@{OTHER}", password="correct horse battery")
    assert elsewhere.status == 422  # only the server's own people sign in there


def test_pkce_is_checked_from_4_3_on(setup: Setup) -> None:
    app = register_app(setup)
    verifier, challenge = pkce_pair()
    code = code_from(authorize(setup, app, challenge))
    for wrong in ("not-the-verifier", None):
        refused = exchange(setup, app, code, wrong)
        assert refused.status == 400 and refused.body["error"] == "invalid_grant"
    assert exchange(setup, app, code, verifier).status == 200
    reused = exchange(setup, app, code, verifier)
    assert reused.status == 400 and reused.body["error"] == "invalid_grant"
    metadata = call("GET", setup.url(HOME, "/.well-known/oauth-authorization-server")).body
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint"] == setup.url(HOME, "/oauth/token")
    assert call("GET", setup.url(HOME, "/api/v2/instance")).body["version"] == "4.3.2"


def test_servers_older_than_4_3_ignore_pkce(setup: Setup) -> None:
    setup.fediverse.servers[HOME].version = "4.2.10"
    app = register_app(setup)
    _, challenge = pkce_pair()
    assert exchange(setup, app, code_from(authorize(setup, app, challenge)), None).status == 200
    assert call("GET", setup.url(HOME, "/.well-known/oauth-authorization-server")).status == 404
    assert call("GET", setup.url(HOME, "/api/v1/instance")).body["version"] == "4.2.10"


def test_the_token_endpoint_requires_the_client_secret(setup: Setup) -> None:
    app = register_app(setup)
    for secret in ("", "wrong"):
        verifier, challenge = pkce_pair()
        refused = exchange(setup, app, code_from(authorize(setup, app, challenge)), verifier, secret=secret)
        assert refused.status == 401 and refused.body["error"] == "invalid_client"
    verifier, challenge = pkce_pair()
    code = code_from(authorize(setup, app, challenge))
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    answer = call("POST", setup.url(HOME, "/oauth/token"), Authorization=f"Basic {basic}",
                  form={"grant_type": "authorization_code", "code": code, "redirect_uri": APP_REDIRECT,
                        "code_verifier": verifier})
    assert answer.status == 200 and answer.body["access_token"]


def test_redirect_uris_and_scopes_are_checked(setup: Setup) -> None:
    app = register_app(setup)
    fields = {"response_type": "code", "client_id": app["client_id"], "scope": "read"}
    elsewhere = call("GET", setup.url(HOME, "/oauth/authorize?" + urlencode(
        fields | {"redirect_uri": "http://127.0.0.1:9/steal"})))
    assert elsewhere.status == 400 and elsewhere.header("Location") is None
    too_much = call("GET", setup.url(HOME, "/oauth/authorize?" + urlencode(
        fields | {"redirect_uri": APP_REDIRECT, "scope": "read write"})))
    assert too_much.status == 302 and "error=invalid_scope" in (too_much.header("Location") or "")
    read_only = sign_in(setup, scopes="read")
    cleo = call("GET", setup.url(HOME, "/api/v2/search?q=cleo@other.fakenet.org&resolve=true"), token=read_only)
    refused = call("POST", setup.url(HOME, f"/api/v1/accounts/{cleo.body['accounts'][0]['id']}/follow"),
                   token=read_only)
    assert refused.status == 403 and refused.body == {"error": "This action is outside the authorized scopes"}


def test_app_registration_can_be_refused_or_invalid(setup: Setup) -> None:
    form = call("POST", setup.url(HOME, "/api/v1/apps"),
                form={"client_name": "Passerelle", "redirect_uris": APP_REDIRECT, "scopes": "read write:follows"})
    assert form.status == 200 and form.body["client_secret"]
    nameless = call("POST", setup.url(HOME, "/api/v1/apps"), body={"redirect_uris": APP_REDIRECT})
    assert nameless.status == 422 and nameless.body["error"].startswith("Validation failed:")
    for refusal in (403, 422):
        setup.fediverse.servers[OTHER].refuse_apps = refusal
        refused = call("POST", setup.url(OTHER, "/api/v1/apps"),
                       body={"client_name": "Passerelle", "redirect_uris": APP_REDIRECT})
        assert refused.status == refusal and "error" in refused.body


def test_400_new_follows_a_day_then_429_with_its_headers(setup: Setup) -> None:
    now = [DAY_START + 3600]
    setup.fediverse.clock = lambda: now[0]
    setup.fediverse.servers[HOME].api_limit = 10_000
    token = setup.fediverse.issue_token(f"ana@{HOME}")
    ids = [str(setup.fediverse.servers[HOME].id_of(setup.fediverse.add_person(f"p{n}@{HOME}").address))
           for n in range(402)]
    for target in ids[:400]:
        assert call("POST", setup.url(HOME, f"/api/v1/accounts/{target}/follow"), token=token).status == 200
    limited = call("POST", setup.url(HOME, f"/api/v1/accounts/{ids[400]}/follow"), token=token)
    assert limited.status == 429 and limited.body == {"error": "Too many requests"}
    assert limited.header("X-RateLimit-Limit") == "400" and limited.header("X-RateLimit-Remaining") == "0"
    reset = datetime.fromisoformat(limited.header("X-RateLimit-Reset") or "")
    assert reset == datetime.fromtimestamp(DAY_START + 86400, UTC)
    assert len(setup.fediverse.following(f"ana@{HOME}")) == 400
    assert call("POST", setup.url(HOME, f"/api/v1/accounts/{ids[0]}/follow"), token=token).status == 200
    now[0] = DAY_START + 86400 + 1  # the next window
    next_day = call("POST", setup.url(HOME, f"/api/v1/accounts/{ids[400]}/follow"), token=token)
    assert next_day.status == 200 and next_day.header("X-RateLimit-Remaining") == "399"


def test_the_follow_cap_is_7500_or_1_1_times_the_followers(setup: Setup) -> None:
    fediverse = setup.fediverse
    fediverse.add_person(f"many@{HOME}", following_base=7499, followers_base=100)
    fediverse.add_person(f"famous@{HOME}", following_base=8799, followers_base=8000)
    targets = [str(fediverse.servers[HOME].id_of(a)) for a in (f"ana@{HOME}", f"ben@{HOME}")]
    for name, cap in (("many", 100 * 1.1), ("famous", 8000 * 1.1)):
        token = fediverse.issue_token(f"{name}@{HOME}")
        assert call("POST", setup.url(HOME, f"/api/v1/accounts/{targets[0]}/follow"), token=token).status == 200
        capped = call("POST", setup.url(HOME, f"/api/v1/accounts/{targets[1]}/follow"), token=token)
        # Mastodon's own text: past 7,500 follows the limit is 1.1 × followers, printed as a float
        assert capped.status == 422, name
        assert capped.body == {"error": f"Validation failed: You cannot follow more than {cap} people"}
    assert fediverse.following_count(f"famous@{HOME}") == 8800


def test_300_api_calls_per_token_per_5_minutes(setup: Setup) -> None:
    now = [DAY_START]
    setup.fediverse.clock = lambda: now[0]
    setup.fediverse.servers[HOME].api_limit = 5
    token, other = setup.fediverse.issue_token(f"ana@{HOME}"), setup.fediverse.issue_token(f"ben@{HOME}")
    url = setup.url(HOME, "/api/v1/accounts/verify_credentials")
    remaining = [call("GET", url, token=token).header("X-RateLimit-Remaining") for _ in range(5)]
    assert remaining == ["4", "3", "2", "1", "0"]
    limited = call("GET", url, token=token)
    assert limited.status == 429 and limited.header("X-RateLimit-Limit") == "5"
    assert datetime.fromisoformat(limited.header("X-RateLimit-Reset") or "") == datetime.fromtimestamp(
        DAY_START + 300, UTC)
    assert call("GET", url, token=other).status == 200
    now[0] += 300
    assert call("GET", url, token=token).status == 200
    assert setup.fediverse.servers[HOME].api_limit == 5 and setup.fediverse.servers[OTHER].api_limit == 300


def test_cors_only_where_mastodon_allows_it(setup: Setup) -> None:
    origin = {"Origin": "http://127.0.0.1:8000"}
    api = call("GET", setup.url(HOME, "/api/v1/instance"), **origin)
    assert api.header("Access-Control-Allow-Origin") == "*"
    assert "X-RateLimit-Reset" in (api.header("Access-Control-Expose-Headers") or "")
    assert "Link" in (api.header("Access-Control-Expose-Headers") or "")
    assert call("GET", setup.url(HOME, "/api/v1/instance")).header("Access-Control-Allow-Origin") is None
    token = call("POST", setup.url(HOME, "/oauth/token"), form={"grant_type": "authorization_code"}, **origin)
    assert token.status == 401 and token.header("Access-Control-Allow-Origin") == "*"
    revoke = call("POST", setup.url(HOME, "/oauth/revoke"), form={"token": "x"}, **origin)
    assert revoke.status == 403 and revoke.header("Access-Control-Allow-Origin") is None
    app = register_app(setup)
    page = call("GET", setup.url(HOME, "/oauth/authorize?" + urlencode(
        {"response_type": "code", "client_id": app["client_id"], "redirect_uri": APP_REDIRECT})), **origin)
    assert page.status == 200 and page.header("Access-Control-Allow-Origin") is None
    assert call("GET", setup.url(HOME, "/.well-known/oauth-authorization-server"),
                **origin).header("Access-Control-Allow-Origin") == "*"

    def preflight(path: str, method: str) -> Answer:
        return call("OPTIONS", setup.url(HOME, path), **origin, **{"Access-Control-Request-Method": method,
                                                                 "Access-Control-Request-Headers": "authorization"})

    allowed = preflight("/api/v1/accounts/1/follow", "POST")
    assert allowed.status == 200 and allowed.header("Access-Control-Allow-Origin") == "*"
    assert "POST" in (allowed.header("Access-Control-Allow-Methods") or "")
    assert allowed.header("Access-Control-Allow-Headers") == "authorization"
    assert preflight("/oauth/token", "POST").header("Access-Control-Allow-Origin") == "*"
    for path, method in (("/oauth/revoke", "POST"), ("/oauth/token", "GET"), ("/oauth/authorize", "POST")):
        refused = preflight(path, method)
        assert refused.status == 200 and refused.header("Access-Control-Allow-Origin") is None, path


def test_ids_are_big_strings_that_differ_per_server(setup: Setup) -> None:
    home_token = setup.fediverse.issue_token(f"ana@{HOME}")
    other_token = setup.fediverse.issue_token(f"cleo@{OTHER}")
    seen_from_home = call("GET", setup.url(HOME, f"/api/v2/search?q=dan@{OTHER}&resolve=true&type=accounts"),
                          token=home_token).body["accounts"][0]
    seen_at_home = call("GET", setup.url(OTHER, "/api/v1/accounts/lookup?acct=dan"), token=other_token).body
    assert isinstance(seen_from_home["id"], str) and seen_from_home["id"] != seen_at_home["id"]
    ids = [int(seen_from_home["id"]), int(seen_at_home["id"])]
    ids += [int(a["id"]) for a in call("GET", setup.url(HOME, "/api/v2/search?q=b&type=accounts"),
                                       token=home_token).body["accounts"]]
    assert all(i > 2**53 for i in ids)
    assert any(int(float(i)) != i for i in ids)  # a JavaScript Number would not keep them
    assert seen_from_home["acct"] == f"dan@{OTHER}" and seen_at_home["acct"] == "dan"


def test_remote_people_are_found_only_by_an_authenticated_resolve(setup: Setup) -> None:
    search = setup.url(HOME, "/api/v2/search?" + urlencode({"q": f"cleo@{OTHER}", "resolve": "true"}))
    anonymous = call("GET", search)
    assert anonymous.status == 401 and "without authentication" in anonymous.body["error"]
    unresolved = call("GET", setup.url(HOME, f"/api/v2/search?q=cleo@{OTHER}&type=accounts"))
    assert unresolved.status == 200 and unresolved.body["accounts"] == []
    assert call("GET", setup.url(HOME, f"/api/v1/accounts/lookup?acct=cleo@{OTHER}")).status == 404
    assert call("GET", search, token=setup.fediverse.issue_token(f"ana@{HOME}")).status == 200
    known = call("GET", setup.url(HOME, f"/api/v1/accounts/lookup?acct=cleo@{OTHER}"))
    assert known.status == 200 and known.body["display_name"] == "Cleo"
    nobody = call("GET", search.replace("cleo", "nobody"), token=setup.fediverse.issue_token(f"ana@{HOME}"))
    assert nobody.status == 200 and nobody.body["accounts"] == []


def test_following_is_paginated_with_link_headers(setup: Setup) -> None:
    token = setup.fediverse.issue_token(f"ana@{HOME}", scopes="read follow")
    people = [setup.fediverse.add_person(f"f{n}@{HOME}").address for n in range(5)]
    for address in people:
        target = setup.fediverse.servers[HOME].id_of(address)
        assert call("POST", setup.url(HOME, f"/api/v1/accounts/{target}/follow"), token=token).status == 200
    me = setup.fediverse.servers[HOME].id_of(f"ana@{HOME}")
    url, pages, seen = setup.url(HOME, f"/api/v1/accounts/{me}/following?limit=2"), 0, []
    while url:
        page = call("GET", url)
        pages += 1
        seen += [a["acct"] for a in page.body]
        links = {part.split(";")[1].strip(): part.split(";")[0].strip(" <>")
                 for part in (page.header("Link") or "").split(",") if ";" in part}
        url = links.get('rel="next"', "")
    assert seen == [a.split("@")[0] for a in reversed(people)] and pages == 3


def test_a_fake_network_world_can_be_reused(setup: Setup) -> None:
    world = FakeWorld()
    world.add_mastodon(f"oldeve@{HOME}", "Eve", moved_to=f"eve@{OTHER}")
    world.add_mastodon(f"eve@{OTHER}", "Eve")
    setup.fediverse.add_from_world(world)
    old = call("GET", setup.url(HOME, "/api/v1/accounts/lookup?acct=oldeve"))
    assert old.status == 200 and old.body["moved"]["acct"] == f"eve@{OTHER}"
    logged = setup.fediverse.requests(HOME, "/api/v1/accounts/lookup")
    assert [(r.method, r.status, r.token) for r in logged] == [("GET", 200, None)]


# A third-party page doing what Passerelle's follow page will do, from its own origin: register an app,
# send the person to the consent page, exchange the code with PKCE (WebCrypto), resolve and follow.
BROWSER_APP = """<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module">
const params = new URLSearchParams(location.search)
const back = location.origin + '/back'
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '')
const call = async (url, init) => { const r = await fetch(url, init); return [r, await r.json()] }
if (!params.get('code')) {
  const server = params.get('server')
  const [, app] = await call(server + '/api/v1/apps', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_name: 'Passerelle', redirect_uris: back, scopes: 'read write:follows' }) })
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)))
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)))
  sessionStorage.setItem('app', JSON.stringify({ ...app, verifier, server }))
  location.href = server + '/oauth/authorize?' + new URLSearchParams({ response_type: 'code', client_id: app.client_id,
    redirect_uri: back, scope: 'read write:follows', state: 's1', code_challenge: challenge,
    code_challenge_method: 'S256' })
} else {
  const app = JSON.parse(sessionStorage.getItem('app'))
  const [, token] = await call(app.server + '/oauth/token', { method: 'POST', body: new URLSearchParams({
    grant_type: 'authorization_code', code: params.get('code'), client_id: app.client_id,
    client_secret: app.client_secret, redirect_uri: back, code_verifier: app.verifier }) })
  const headers = { Authorization: 'Bearer ' + token.access_token }
  const [, found] = await call(app.server + '/api/v2/search?q=cleo@other.fakenet.org&type=accounts&resolve=true',
    { headers })
  const [followed, relationship] = await call(
    app.server + '/api/v1/accounts/' + found.accounts[0].id + '/follow', { method: 'POST', headers })
  document.body.dataset.result = JSON.stringify({ state: params.get('state'), following: relationship.following,
    remaining: followed.headers.get('X-RateLimit-Remaining'), id: found.accounts[0].id })
}
</script></body></html>"""


def test_a_page_of_another_origin_can_sign_in_and_follow(setup: Setup, page: Page) -> None:
    setup.fediverse.servers[HOME].api_limit = 10_000
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))

    class AppPage(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = BROWSER_APP.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    app_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AppPage)
    threading.Thread(target=app_server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{app_server.server_address[1]}/start?" + urlencode({"server": setup.urls[HOME]}))
        page.locator("input[name=username]").fill("ana")
        page.locator("input[name=password]").fill("ana's password")
        page.get_by_role("button", name="Authorize").click()
        expect(page.locator("body")).to_have_attribute("data-result", re.compile("following"), timeout=15_000)
        result = json.loads(page.locator("body").get_attribute("data-result") or "{}")
    finally:
        app_server.shutdown()
        app_server.server_close()
    assert result["state"] == "s1" and result["following"] is True and result["remaining"] == "399"
    assert int(result["id"]) > 2**53  # kept as a string all the way
    assert setup.fediverse.following(f"ana@{HOME}") == [f"cleo@{OTHER}"]
    preflights = [r.path for r in setup.fediverse.requests(HOME) if r.method == "OPTIONS"]
    assert "/oauth/token" not in preflights and any(p.endswith("/follow") for p in preflights)
    assert not errors, errors
