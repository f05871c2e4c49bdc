"""Signing in to Mastodon with the helpers the page's worker will call: against the fake servers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pyscript_app.follow import FollowQueue, FollowRunner, MastodonFollower, PathClient
from pyscript_app.follow import mastodon_oauth as oauth
from pyscript_app.follow.client import ApiAnswer
from tests.fake_mastodon import FakeFediverse, serve_fediverse
from tests.follow_helpers import FakeTime, Recording, Selected, run
from tests.test_fake_mastodon import call
from tests.test_follow_mastodon import NotMastodon  # a blog answering HTML

NEW, OLD, CLOSED = "new.fakenet.org", "old.fakenet.org", "closed.fakenet.org"
REDIRECT = "http://127.0.0.1:8000/en/match/"


@pytest.fixture
def servers() -> Iterator[tuple[FakeFediverse, dict[str, str]]]:
    fediverse = FakeFediverse()
    fediverse.add_server(NEW, version="4.3.2")
    fediverse.add_server(OLD, version="4.2.10")
    fediverse.add_server(CLOSED, refuse_apps=422)
    for domain in (NEW, OLD, CLOSED):
        fediverse.add_person(f"ana@{domain}", password="ana's password")
    fediverse.add_person(f"ben@{NEW}")
    with serve_fediverse(fediverse) as urls:
        yield fediverse, urls


def consent(app: oauth.MastodonApp, url: str, decision: str = "authorize") -> str:
    """What the person does on their server's page: sign in and press Authorize (or Deny)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    page = call("GET", url)
    assert page.status == 200 and "Authorize" in page.body
    answer = call("POST", f"{app.base_url}/oauth/authorize",
                  form={**query, "username": "ana", "password": "ana's password", "decision": decision})
    assert answer.status == 302
    return answer.header("Location") or ""


@pytest.mark.parametrize("domain", [NEW, OLD])
def test_register_authorize_and_exchange_with_pkce_or_without(servers: Any, domain: str) -> None:
    fediverse, urls = servers
    base = urls[domain]
    version = run(oauth.detect_version(base))
    assert oauth.supports_pkce(version) is (domain == NEW)
    app = run(oauth.register_app(base, REDIRECT, "http://127.0.0.1:8000/"))
    assert app.scopes == "read:accounts read:follows read:search write:follows"
    registered = fediverse.servers[domain].apps[app.client_id]
    assert registered.scopes == app.scopes.split() and registered.redirect_uris == [REDIRECT]
    verifier, challenge = oauth.pkce_pair()
    state = oauth.new_state()
    url = oauth.authorization_url(app, challenge, state)
    assert parse_qs(urlsplit(url).query)["code_challenge_method"] == ["S256"]
    code = oauth.code_from_callback(consent(app, url), state)
    if domain == NEW:  # 4.3 checks the verifier: a wrong one is refused
        with pytest.raises(oauth.MastodonSignInError) as refused:
            run(oauth.exchange_code(app, code, oauth.pkce_pair()[0]))
        assert refused.value.kind == "token-refused"
        code = oauth.code_from_callback(consent(app, oauth.authorization_url(app, challenge, state)), state)
    token = run(oauth.exchange_code(app, code, verifier))
    # the token follows: it is what MastodonFollower needs
    clock = FakeTime()
    queue = FollowQueue()
    queue.add([Selected("mastodon", f"ben@{NEW}")] if domain == NEW else [Selected("mastodon", f"ana@{NEW}")])
    follower = MastodonFollower(PathClient(base_url=base, token=token), domain)
    result = run(FollowRunner(queue, {"mastodon": follower}, clock.clock, clock.sleep).run())
    assert result.stops == {"mastodon": "done"}
    assert queue.queue("mastodon").counts()["followed"] == 1


def test_pkce_pairs_are_s256_and_fresh() -> None:
    # RFC 7636, appendix B: these 32 octets, this verifier, this challenge
    octets = bytes([116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105,
                    214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121])
    verifier, challenge = oauth.pkce_pair(lambda n: octets[:n])
    assert verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert oauth.pkce_pair() != oauth.pkce_pair() and oauth.new_state() != oauth.new_state()


def test_refusals_are_said(servers: Any) -> None:
    _, urls = servers
    with pytest.raises(oauth.MastodonSignInError) as closed:
        run(oauth.register_app(urls[CLOSED], REDIRECT))
    assert closed.value.kind == "app-refused"
    assert "refused to register Passerelle" in closed.value.notice.text
    app = run(oauth.register_app(urls[NEW], REDIRECT))
    _, challenge = oauth.pkce_pair()
    denied = consent(app, oauth.authorization_url(app, challenge, "s1"), decision="deny")
    with pytest.raises(oauth.MastodonSignInError) as refusal:
        oauth.code_from_callback(denied, "s1")
    assert refusal.value.kind == "denied"
    with pytest.raises(oauth.MastodonSignInError) as forged:
        oauth.code_from_callback(f"{REDIRECT}?code=abc&state=other", "s1")
    assert forged.value.kind == "state-mismatch"
    for bad in ("ana", "ana@", "@ana@127.0.0.1", "a b@social.fakenet.org"):
        with pytest.raises(oauth.MastodonSignInError):
            oauth.parse_address(bad)
    assert oauth.parse_address("@Ana@Social.FakeNet.org") == ("ana", "social.fakenet.org")


def test_a_server_that_is_not_mastodon_or_not_there(servers: Any) -> None:
    blog = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotMastodon)
    threading.Thread(target=blog.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{blog.server_address[1]}"
        for attempt in (oauth.detect_version(base), oauth.register_app(base, REDIRECT)):
            with pytest.raises(oauth.MastodonSignInError) as error:
                run(attempt)
            assert error.value.kind == "not-mastodon"
            assert error.value.notice.text == f"127.0.0.1:{blog.server_address[1]} is not a Mastodon server."
    finally:
        blog.shutdown()
        blog.server_close()
    with pytest.raises(oauth.MastodonSignInError) as away:
        run(oauth.detect_version(base))
    assert away.value.kind == "unreachable"


def test_an_account_gone_between_resolving_and_following(servers: Any) -> None:
    fediverse, urls = servers
    token = fediverse.issue_token(f"ana@{NEW}", "read:accounts read:follows read:search write:follows")

    def delete_ben(method: str, path: str, body: Any, number: int) -> ApiAnswer | None:
        if path.endswith("/follow"):
            fediverse.people.pop(f"ben@{NEW}", None)
        return None

    clock = FakeTime()
    queue = FollowQueue()
    queue.add([Selected("mastodon", f"ben@{NEW}")])
    client = Recording(PathClient(base_url=urls[NEW], token=token), delete_ben)
    result = run(FollowRunner(queue, {"mastodon": MastodonFollower(client, NEW)}, clock.clock, clock.sleep).run())
    assert result.stops == {"mastodon": "done"}
    assert [(t.state, t.reason) for t in queue.queue("mastodon").tasks] == [("failed", "gone")]
