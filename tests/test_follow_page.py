"""The follow panel's Python (``pyscript_app.follow.page``) under CPython: Bluesky requests relayed
through "the page" (here a relay that sends them with an app-password token to the real PDS),
the Mastodon sign-in steps the worker runs, and the queue the page keeps."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pyscript_app._compat import NetworkError, ResponseTooLargeError, send
from pyscript_app.follow.atproto_session import app_password_session
from pyscript_app.follow.mastodon_oauth import MastodonApp, MastodonSignInError
from pyscript_app.follow.page import PageFollow, mastodon_allowance, mastodon_begin, mastodon_finish, relayed_response
from pyscript_app.notices import ArchiveError
from pyscript_app.worker import Session
from tests.fake_mastodon import FakeFediverse, serve_fediverse
from tests.follow_helpers import FakeTime, Selected, run
from tests.pds_server import PdsServer
from tests.test_follow_bluesky import follow_subjects
from tests.test_follow_mastodon_oauth import consent

REDIRECT = "http://127.0.0.1:8000/en/signed-in/"


def pds_relay(pds: PdsServer, token: str, log: list[str]) -> Any:
    """What the page does with a relayed request: send it to the PDS as the signed-in person and
    answer with status, headers and body as JSON text."""

    async def relay(method: str, path: str, headers_json: str, body: str | None) -> str:
        log.append(path)
        headers = json.loads(headers_json) | {"Authorization": f"Bearer {token}"}
        response = await send(method, pds.url + path, headers, body.encode() if body else None, 30.0, 1 << 22)
        return json.dumps({"status": response.status, "headers": response.headers,
                           "body": response.body.decode()})

    return relay


def test_the_page_follows_the_selected_through_the_relay_and_a_second_run_adds_nothing(pds: PdsServer) -> None:
    me = pds.create_account("page-one")
    friends = [pds.create_account(f"page-friend{n}") for n in range(3)]
    session = run(app_password_session(pds.url, me.handle, me.password))
    clock = FakeTime()
    follow = PageFollow(clock.clock, clock.sleep)
    follow.add([Selected("bluesky", f.handle, f.did, str(n)) for n, f in enumerate(friends[:2])]
               + [Selected("mastodon", "ana@fakenet.org", "", "9")], ["bluesky"])
    states: list[dict[str, Any]] = []
    log: list[str] = []
    connections: Any = {"bluesky": {"did": me.did}}
    answer = run(follow.run(connections, pds_relay(pds, session.access_jwt, log), states.append, lambda n: None))

    assert answer["stops"] == {"bluesky": "done"}
    assert set(follow_subjects(pds, me.did)) == {friends[0].did, friends[1].did}
    assert {t["state"] for t in answer["tasks"]} == {"followed"} and len(answer["tasks"]) == 2  # not Mastodon
    assert states and json.loads(states[-1]["saved"])["networks"]["bluesky"]["owner"] == me.did
    assert any("applyWrites" in path for path in log)

    again = PageFollow(clock.clock, clock.sleep)  # the page came back with the kept queue
    again.restore(states[-1]["saved"])
    again.add([Selected("bluesky", friends[2].handle, friends[2].did, "3")], ["bluesky"])
    assert again.plan(["bluesky"])["plans"][0]["to_follow"] == 1
    log.clear()
    run(again.run(connections, pds_relay(pds, session.access_jwt, log), lambda s: None, lambda n: None))
    assert set(follow_subjects(pds, me.did)) == {f.did for f in friends}
    assert sum("applyWrites" in path for path in log) == 1


def test_an_ended_session_stops_the_network_and_keeps_the_queue() -> None:
    async def ended(method: str, path: str, headers_json: str, body: str | None) -> str:
        return json.dumps({"error": "session-ended"})

    clock = FakeTime()
    follow = PageFollow(clock.clock, clock.sleep)
    follow.add([Selected("bluesky", "amal.bsky.social", "", "1")], ["bluesky"])
    did = "did:plc:" + "a" * 24
    answer = run(follow.run({"bluesky": {"did": did}}, ended, lambda s: None, lambda n: None))
    assert answer["stops"] == {"bluesky": "session-expired"}
    assert [t["state"] for t in answer["tasks"]] == ["queued"]


def test_relayed_answers_are_checked_like_server_answers() -> None:
    assert relayed_response(json.dumps({"error": "session-ended"}), 100).status == 401
    ok = relayed_response(json.dumps({"status": 200, "headers": {"RateLimit-Remaining": "9"}, "body": "{}"}), 100)
    assert ok.headers == {"ratelimit-remaining": "9"} and ok.body == b"{}"
    with pytest.raises(ResponseTooLargeError):
        relayed_response(json.dumps({"status": 200, "body": "x" * 101}), 100)
    for bad in ("not json", "[]", json.dumps({"error": "network"}), json.dumps({"status": "200"})):
        with pytest.raises(NetworkError):
            relayed_response(bad, 100)


def test_mastodon_sign_in_registers_once_and_checks_the_state() -> None:
    fediverse = FakeFediverse()
    domain = "social.fakenet.org"
    fediverse.add_server(domain, version="4.3.2")
    fediverse.add_person(f"ana@{domain}", password="ana's password")
    with serve_fediverse(fediverse) as urls:
        request: dict[str, Any] = {"address": f"@Ana@{domain}", "redirect_uri": REDIRECT, "website": "",
                                   "instance_urls": urls, "apps": {}}
        begun = run(mastodon_begin(request))
        assert begun["address"] == f"ana@{domain}" and len(fediverse.servers[domain].apps) == 1
        again = run(mastodon_begin(request | {"apps": {begun["app"]["base_url"]: begun["app"]}}))
        assert again["app"] == begun["app"] and len(fediverse.servers[domain].apps) == 1  # kept: not registered twice
        assert again["state"] != begun["state"]
        app = MastodonApp(**{k: v for k, v in begun["app"].items() if k != "scopes"})
        back = urlsplit(consent(app, begun["authorize_url"])).query
        with pytest.raises(MastodonSignInError) as wrong:
            run(mastodon_finish({"app": begun["app"], "state": again["state"], "verifier": begun["verifier"],
                                 "callback": back}))
        assert wrong.value.kind == "state-mismatch"
        token = run(mastodon_finish({"app": begun["app"], "state": begun["state"], "verifier": begun["verifier"],
                                     "callback": back}))["token"]
        assert token and parse_qs(back)["state"] == [begun["state"]]
        with pytest.raises(MastodonSignInError) as denied:
            run(mastodon_finish({"app": begun["app"], "state": "s", "verifier": "v",
                                 "callback": "error=access_denied&state=s"}))
        assert denied.value.kind == "denied"


def test_the_worker_queues_only_the_selected_matches_of_signed_in_networks() -> None:
    session = Session()
    with pytest.raises(ArchiveError):
        session.follow.restore("{not json")
    answer = session.follow_plan([], ["bluesky"], json.dumps({"version": 99}))
    assert answer["notices"] and answer["plans"][0]["to_follow"] == 0


def test_the_allowance_is_asked_of_the_signed_in_accounts_server() -> None:
    fediverse = FakeFediverse()
    domain = "social.fakenet.org"
    fediverse.add_server(domain, version="4.3.2")
    fediverse.add_person(f"ana@{domain}")
    token = fediverse.issue_token(f"ana@{domain}")
    with serve_fediverse(fediverse) as urls:
        connection: Any = {"address": f"ana@{domain}", "token": token, "instance_urls": urls}
        assert run(mastodon_allowance(connection)) == 7_500
        assert run(mastodon_allowance(connection | {"token": "wrong"})) is None
        assert run(mastodon_allowance(connection | {"address": "not an address"})) is None
