"""Following from the page, in Chromium, against real servers on loopback: the atproto PDS (its own
sign-in and consent pages, in a pop-up) and the fake Mastodon servers (app, consent, token, follow).
The rows' ``data-follow-state``, the PDS's ``listRecords`` and the fake server's follows prove that
exactly the selected people are followed, once; the storage proves that "Forget everything" forgets."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, Route, expect

from pyscript_app.directory import compile_directory, parse_claim
from pyscript_app.graph import PersonGraph
from pyscript_app.matching import Match, Matcher, Settings
from sitebuild.harvest import State, run_harvest
from tests.archive_factory import OWNER_ID, ArchiveSpec, archive_files, people, write_zip
from tests.conftest import PageLog, site_served_with
from tests.fake_mastodon import FakeFediverse, serve_fediverse
from tests.fake_network import FakeWorld, serve
from tests.pds_server import Account, PdsServer
from tests.test_follow_bluesky import follow_subjects
from tests.test_matching import run_in_fresh_loop

AMAL, BERT, CHLOE, DAN, ELI, FARAH = people(6, 3_100_000_000)
SOCIAL, OTHER = "social.fakenet.org", "other.fakenet.org"
PERSON_PASSWORD = "ana's password"
NOT_MASTODON = "blog.fakenet.org"


@pytest.fixture(scope="module")
def world(pds: PdsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The person's X archive, their contacts on the PDS (seen by a fake AppView with their real
    DIDs) and on two fake Mastodon servers, a directory listing them, and a site set up for all."""
    folder = tmp_path_factory.mktemp("following")
    me = pds.create_account("walker")
    friends = {name: pds.create_account(f"{name}-f") for name in ("amal", "bert", "chloe")}
    appview = FakeWorld()
    for name, account in friends.items():
        appview.add_bluesky(account.handle, name.title(), did=account.did)
    fediverse = FakeFediverse()
    fediverse.add_server(SOCIAL, version="4.3.2")
    fediverse.add_server(OTHER, version="4.2.10")
    fediverse.add_person(f"ana@{SOCIAL}", password=PERSON_PASSWORD)
    fediverse.add_person(f"dan@{SOCIAL}", display_name="Dan")
    fediverse.add_person(f"eli@{OTHER}", display_name="Eli")
    fediverse.add_person(f"farah@{OTHER}", display_name="Farah")
    claims = [{"x_id": x_id, "x_handle": name, "bluesky": friends[name].did}
              for x_id, name in ((AMAL, "amal"), (BERT, "bert"), (CHLOE, "chloe"))]
    claims += [{"x_id": x_id, "x_handle": address.split("@")[0], "mastodon": address}
               for x_id, address in ((DAN, f"dan@{SOCIAL}"), (ELI, f"eli@{OTHER}"), (FARAH, f"farah@{OTHER}"))]
    compile_directory([parse_claim(c | {"updated": "2026-11-01"}) for c in claims], folder / "static" / "dir",
                      "Test directory")
    appview.static_root = folder / "static"
    spec = ArchiveSpec(following=[AMAL, BERT, CHLOE, DAN, ELI, FARAH])
    archive = write_zip(folder / "archive.zip", archive_files(spec))
    with serve(appview) as appview_url, serve_fediverse(fediverse) as mastodon_urls:
        instance_urls = "".join(f'"{domain}" = "{url}"\n' for domain, url in mastodon_urls.items())
        instance_urls += f'"{NOT_MASTODON}" = "{appview_url}"\n'  # a server that is not Mastodon
        configuration = (
            f'bluesky_appview = "{appview_url}"\n'
            f'directories = ["{appview_url}/dir/"]\n'
            f'bluesky_handle_resolver = "{pds.url}"\n'
            f'plc_directory_url = "{pds.plc_url}"\n'
            f'extra_connect_origins = ["{pds.url}"]\n'
            f"[mastodon_instance_urls]\n{instance_urls}"
        )
        with site_served_with(configuration, folder) as url:
            yield {"url": url, "archive": archive, "me": me, "friends": friends, "fediverse": fediverse, "pds": pds}


def find_matches(page: Page, world: dict[str, Any]) -> None:
    page.goto(f"{world['url']}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("archive-input").set_input_files(world["archive"])
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-complete", "1")
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("follow-panel")).to_be_visible()


def row(page: Page, account: str) -> Any:
    return page.locator(f"[data-testid=match-row][data-account='{account}']")


def deselect(page: Page, account: str) -> None:
    box = row(page, account).get_by_test_id("match-select")
    if box.is_checked():
        box.uncheck()


class ExpectedFailures:
    """Chromium logs every HTTP error answer as a console error. Two kinds belong to the protocols
    and are excused one by one, by status and counted cause; any other still fails the test."""

    def __init__(self, page: Page, page_log: PageLog) -> None:
        self.page_log = page_log
        self.nonce_challenges = 0
        self.unknown_handles = 0
        page.on("response", self.seen)

    def seen(self, response: Response) -> None:
        # atproto OAuth: the server answers a request without the nonce it wants with 400
        # use_dpop_nonce and a DPoP-Nonce header; the client retries with it (RFC 9449, section 8).
        if response.status == 400 and "dpop-nonce" in response.headers and "/oauth/" in response.url:
            self.nonce_challenges += 1
        # A handle nobody has: the resolver says so with 400 (atproto's XRPC error for a bad request).
        if response.status == 400 and "/xrpc/com.atproto.identity.resolveHandle" in response.url:
            self.unknown_handles += 1

    def excuse(self, status: int, count: int, why: str) -> None:
        message = f"Failed to load resource: the server responded with a status of {status} "
        for _ in range(count):
            index = next((i for i, e in enumerate(self.page_log.errors) if e.startswith(message)), None)
            assert index is not None, f"expected a console error for {why}"
            del self.page_log.errors[index]

    def settle(self, injected_429s: int = 0) -> None:
        self.excuse(400, self.nonce_challenges, "a DPoP nonce challenge")
        self.excuse(400, self.unknown_handles, "a handle nobody has")
        self.excuse(429, injected_429s, "the 429 the test sent")


def connect_bluesky(page: Page, account: Account, decision: str = "Authorize") -> None:
    """Type the handle, then sign in and consent on the PDS's own pages, in the pop-up."""
    page.get_by_test_id("bluesky-handle").fill(account.handle)
    with page.expect_popup() as opened:
        page.get_by_test_id("bluesky-connect").click()
    popup = opened.value
    popup.wait_for_url(re.compile(r"^http://localhost:\d+/oauth/authorize"), timeout=30_000)
    popup.locator("input[name=password]").fill(account.password)
    popup.get_by_role("button", name="Sign in", exact=True).click()
    popup.get_by_role("button", name=decision, exact=True).click()
    popup.wait_for_event("close", timeout=30_000)


def connect_mastodon(page: Page, address: str, decision: str = "Authorize") -> None:
    """Type the address, then sign in and consent on the server's own page, in the pop-up."""
    page.get_by_test_id("mastodon-address").fill(address)
    with page.expect_popup() as opened:
        page.get_by_test_id("mastodon-connect").click()
    popup = opened.value
    popup.wait_for_url(re.compile(r"/oauth/authorize\?"), timeout=30_000)
    popup.locator("input[name=username]").fill(address.split("@")[0])
    popup.locator("input[name=password]").fill(PERSON_PASSWORD)
    popup.get_by_role("button", name=decision, exact=True).click()
    popup.wait_for_event("close", timeout=30_000)


def follow_states(page: Page) -> dict[str, str | None]:
    return {r.get_attribute("data-account") or "": r.get_attribute("data-follow-state")
            for r in page.get_by_test_id("match-row").all()}


def test_bluesky_follows_exactly_the_selected_once_and_resumes_after_a_429(
    page: Page, page_log: PageLog, world: dict[str, Any]
) -> None:
    pds: PdsServer = world["pds"]
    me: Account = world["me"]
    friends: dict[str, Account] = world["friends"]
    failures = ExpectedFailures(page, page_log)
    find_matches(page, world)
    deselect(page, friends["chloe"].handle)  # found, but not selected: never followed
    connect_bluesky(page, me)
    expect(page.get_by_test_id("bluesky-connected")).to_be_visible()
    expect(page.get_by_test_id("bluesky-connected")).to_contain_text(me.handle)

    refused: list[str] = []

    def slow_down_once(route: Route) -> None:  # the PDS says 429 to the first batch, as its limiter does
        if refused:
            return route.continue_()
        refused.append(route.request.url)
        reset = int(time.time()) + 2
        route.fulfill(status=429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers={
            "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "RateLimit-Reset, RateLimit-Remaining",
            "RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset),
            "RateLimit-Policy": "5000;w=3600"})

    page.route(re.compile(r"/xrpc/com\.atproto\.repo\.applyWrites"), slow_down_once)
    page.get_by_test_id("follow-start").click()
    expect(page.get_by_test_id("follow-plan")).to_contain_text("Bluesky: 2 people to follow")
    expect(page.get_by_test_id("follow-done")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("follow-done")).to_contain_text("2 followed")
    assert refused, "the 429 was never sent: the test proves nothing"
    expect(page.get_by_test_id("follow-notices")).to_contain_text("asked Passerelle to slow down")
    assert set(follow_subjects(pds, me.did)) == {friends["amal"].did, friends["bert"].did}
    states = follow_states(page)
    assert states[friends["amal"].handle] == states[friends["bert"].handle] == "followed"
    assert states[friends["chloe"].handle] is None
    assert not page.get_by_test_id("follow-progress").is_hidden()

    # A second run, from a fresh page that comes back to the kept list: nothing more is written.
    records = follow_subjects(pds, me.did)
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    expect(page.get_by_test_id("bluesky-connected")).to_be_visible(timeout=30_000)  # the session came back
    page.get_by_test_id("archive-input").set_input_files(world["archive"])
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    deselect(page, friends["chloe"].handle)
    page.get_by_test_id("follow-start").click()
    expect(page.get_by_test_id("follow-plan")).to_contain_text("Bluesky: nobody left to follow.")
    expect(page.get_by_test_id("follow-done")).to_contain_text("Bluesky: done.", timeout=60_000)
    assert follow_subjects(pds, me.did) == records  # same records, same addresses
    expect(row(page, friends["amal"].handle)).to_have_attribute("data-follow-state", "followed")
    failures.settle(injected_429s=len(refused))


STORAGE = """async () => {
  const databases = (await indexedDB.databases()).map((db) => db.name);
  let kept = [];
  if (databases.includes("passerelle")) {
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open("passerelle");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    if (db.objectStoreNames.contains("graphs")) {
      kept = await new Promise((resolve) => {
        const request = db.transaction("graphs").objectStore("graphs").getAllKeys();
        request.onsuccess = () => resolve(request.result);
      });
    }
    db.close();
  }
  return { databases, kept, local: Object.keys(localStorage), session: Object.keys(sessionStorage) };
}"""


def test_mastodon_signs_in_follows_the_selected_and_forget_everything_forgets(
    page: Page, page_log: PageLog, world: dict[str, Any]
) -> None:
    fediverse: FakeFediverse = world["fediverse"]
    me = f"ana@{SOCIAL}"
    find_matches(page, world)
    deselect(page, f"farah@{OTHER}")
    connect_mastodon(page, me)
    expect(page.get_by_test_id("mastodon-connected")).to_contain_text(me)
    page.get_by_test_id("follow-start").click()  # Bluesky is not connected: its matches wait
    expect(page.get_by_test_id("follow-done")).to_contain_text("Mastodon: done. 2 followed", timeout=60_000)
    assert fediverse.following(me) == [f"dan@{SOCIAL}", f"eli@{OTHER}"]  # eli: found through ana's own server
    states = follow_states(page)
    assert states[f"dan@{SOCIAL}"] == states[f"eli@{OTHER}"] == "followed"
    assert states[f"farah@{OTHER}"] is None and states[world["friends"]["amal"].handle] is None
    stored = page.evaluate(STORAGE)
    assert {"follow", "mastodon-session", "mastodon-apps"} <= set(stored["kept"])

    page.get_by_test_id("forget-everything").click()
    expect(page.get_by_test_id("matcher-status")).to_contain_text("forgotten")
    expect(page.get_by_test_id("mastodon-connected")).to_be_hidden()
    stored = page.evaluate(STORAGE)
    assert stored["kept"] == [] and stored["local"] == [] and stored["session"] == []
    assert "@atproto-oauth-client" not in stored["databases"]
    page.wait_for_timeout(500)
    tokens = [t for t in fediverse.servers[SOCIAL].tokens.values() if t.address == me]
    assert tokens and all(t.revoked for t in tokens)  # signed out on the server too


def test_bluesky_forget_everything_signs_out_and_deletes_the_oauth_clients_storage(
    page: Page, page_log: PageLog, world: dict[str, Any]
) -> None:
    failures = ExpectedFailures(page, page_log)
    find_matches(page, world)
    connect_bluesky(page, world["me"])
    expect(page.get_by_test_id("bluesky-connected")).to_be_visible()
    stored = page.evaluate(STORAGE)
    assert "@atproto-oauth-client" in stored["databases"] and stored["local"]
    page.get_by_test_id("forget-everything").click()
    expect(page.get_by_test_id("matcher-status")).to_contain_text("forgotten")
    stored = page.evaluate(STORAGE)
    assert "@atproto-oauth-client" not in stored["databases"]
    assert stored["local"] == [] and stored["kept"] == []
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("bluesky-connected")).to_be_hidden()
    failures.settle()


def test_refusals_are_said_plainly_and_lose_nothing(page: Page, page_log: PageLog, world: dict[str, Any]) -> None:
    failures = ExpectedFailures(page, page_log)
    find_matches(page, world)
    rows_before = page.get_by_test_id("match-row").count()
    error = page.get_by_test_id("follow-error")

    connect_mastodon(page, f"ana@{SOCIAL}", decision="Deny")
    expect(error).to_contain_text("Access was not given")
    expect(page.get_by_test_id("mastodon-connected")).to_be_hidden()

    page.get_by_test_id("mastodon-address").fill(f"someone@{NOT_MASTODON}")
    page.get_by_test_id("mastodon-connect").click()
    expect(error).to_contain_text("could not be reached, or it is not a Mastodon server")

    page.get_by_test_id("mastodon-address").fill("not an address")
    page.get_by_test_id("mastodon-connect").click()
    expect(error).to_contain_text("is not a Mastodon address")

    page.get_by_test_id("bluesky-handle").fill("nobody-here.pds.passerelle.dev")
    page.get_by_test_id("bluesky-connect").click()
    expect(error).to_contain_text("No Bluesky account answers to nobody-here.pds.passerelle.dev")

    connect_bluesky(page, world["me"], decision="Deny access")
    expect(error).to_contain_text("Access was not given")
    expect(page.get_by_test_id("bluesky-connected")).to_be_hidden()

    page.get_by_test_id("follow-start").click()
    expect(error).to_contain_text("Connect Bluesky or Mastodon first")
    assert len(page.context.pages) == 1  # every sign-in window was closed
    assert page.get_by_test_id("match-row").count() == rows_before  # the results are all there
    failures.settle()


def test_closing_the_page_mid_run_loses_nothing_and_coming_back_resumes(
    page: Page, page_log: PageLog, world: dict[str, Any], pds: PdsServer
) -> None:
    failures = ExpectedFailures(page, page_log)
    me = pds.create_account("comeback")  # an account of its own: no follows yet
    friends: dict[str, Account] = world["friends"]
    find_matches(page, world)
    connect_bluesky(page, me)
    expect(page.get_by_test_id("bluesky-connected")).to_be_visible()
    held: list[Route] = []
    page.route(re.compile(r"/xrpc/com\.atproto\.repo\.applyWrites"), lambda route: held.append(route))  # never sent
    page.get_by_test_id("follow-start").click()
    expect(page.get_by_test_id("follow-progress")).to_be_visible()
    deadline = time.time() + 30
    while not held and time.time() < deadline:
        page.wait_for_timeout(100)
    assert held, "the run never reached its first write"
    assert follow_subjects(pds, me.did) == {}
    failures.settle()
    context = page.context
    page.close()  # closing the tab pauses

    again = context.new_page()
    log = PageLog()
    again.on("console", lambda message: message.type == "error" and log.errors.append(message.text))
    again.on("pageerror", lambda error: log.errors.append(str(error)))
    again.goto(f"{world['url']}en/match/")
    expect(again.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    expect(again.get_by_test_id("follow-panel")).to_be_visible(timeout=30_000)  # the kept list, no results
    done = again.get_by_test_id("follow-done")
    expect(done).to_contain_text("Bluesky: done.", timeout=60_000)
    # The write held when the tab closed may or may not have reached the PDS: either way it counts once.
    counts = re.search(r"(\d+) followed, (\d+) already followed", done.inner_text())
    assert counts and int(counts[1]) + int(counts[2]) == 3
    assert set(follow_subjects(pds, me.did)) == {f.did for f in friends.values()}
    assert not log.errors, log.errors


def test_being_findable_is_published_in_the_persons_own_repository_and_withdrawn(
    page: Page, page_log: PageLog, world: dict[str, Any], pds: PdsServer, tmp_path: Path
) -> None:
    failures = ExpectedFailures(page, page_log)
    me = pds.create_account("findme")
    find_matches(page, world)
    expect(page.get_by_test_id("findable-publish")).to_be_disabled()  # not signed in yet
    expect(page.get_by_test_id("findable-mastodon-post")).to_have_text(
        f"I moved from X: https://x.com/example_owner (X id {OWNER_ID}) #PasserelleMoved")
    connect_bluesky(page, me)
    expect(page.get_by_test_id("findable-publish")).to_be_enabled()
    expect(page.get_by_test_id("findable-status")).to_contain_text("Not findable yet")
    page.get_by_test_id("findable-mastodon").fill(f"ana@{SOCIAL}")
    page.get_by_test_id("findable-publish").click()
    expect(page.get_by_test_id("findable-status")).to_contain_text(f"on X (account number {OWNER_ID})")
    expect(page.get_by_test_id("findable-status")).to_contain_text(f"ana@{SOCIAL}")
    records = pds.xrpc("com.atproto.repo.listRecords", f"repo={me.did}&collection=org.passerelle.x.claim")["records"]
    assert [r["value"]["xId"] for r in records] == [OWNER_ID] and records[0]["uri"].endswith(f"/{OWNER_ID}")
    # The site operator's daily job: harvest, compile; someone who followed the publisher on X finds them.
    state = State()
    found = harvested_matches(pds, state, tmp_path / "one")
    assert [(m.account, m.confidence) for m in found] == [(me.did, "medium")]  # self-published: not proven
    page.get_by_test_id("findable-withdraw").click()
    expect(page.get_by_test_id("findable-status")).to_contain_text("Withdrawn")
    assert pds.xrpc("com.atproto.repo.listRecords", f"repo={me.did}&collection=org.passerelle.x.claim")["records"] == []
    assert harvested_matches(pds, state, tmp_path / "two") == []  # withdrawn: gone at the next harvest
    failures.settle()


def harvested_matches(pds: PdsServer, state: State, folder: Path) -> list[Match]:
    """``directory harvest --pds`` then ``directory compile``, then the matcher of a second person
    whose archive follows the publisher's X account, asking only that directory."""
    run_in_fresh_loop(run_harvest([], [pds.url], state, "org.passerelle.x.claim", pds.plc_url))
    claims = [parse_claim(json.loads(line)) for line in state.claim_lines()]
    compile_directory(claims, folder / "static" / "dir", "Harvested", self_published=True)
    files = FakeWorld()
    files.static_root = folder / "static"
    with serve(files) as url:
        settings = Settings(directories=[f"{url}/dir/"], directories_only=True)
        graph = PersonGraph(account=None, following=[OWNER_ID], followers=[], blocked=[], known={})
        report = run_in_fresh_loop(Matcher(settings).run(graph))
    return [m for m in report.matches if m.network == "bluesky"]
