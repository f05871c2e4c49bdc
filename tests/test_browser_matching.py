"""The whole flow in Chromium: pick an archive, find people through fake servers, review, download."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pyscript_app.directory import compile_directory, parse_claim
from sitebuild.security import security_headers
from tests.archive_factory import ArchiveSpec, Mention, Post, archive_files, people, write_zip
from tests.conftest import PageLog, site_served_with
from tests.fake_network import FakeWorld, Fault, serve

ANN, BEN, CLEO, DAN, EVE, FAY = people(6)
PAT = people(1, 5_000_000_000)[0]  # followed, unnamed by the archive
ARCHIVE_IDS = [ANN, BEN, CLEO, DAN, EVE, FAY, *people(30, 5_000_000_000)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Fake AppView, directory host and Mastodon server, and a site configured to use them."""
    folder = tmp_path_factory.mktemp("matching")
    world = FakeWorld()
    world.add_bluesky("ann-smith.bsky.social", "Ann Smith", "Ex-Twitter: @ann_smith")
    # Two accounts remain for Fay, neither stands out: the page asks which one.
    world.add_bluesky("fay-lee.bsky.social", "Fay Lee", "Gardening.", did="did:plc:fay1")
    world.add_bluesky("faylee.example.com", "Fay Lee", "Books.", did="did:plc:fay2")
    world.add_bluesky("cleo.bsky.social", "<b>Cleo</b> & co", did="did:plc:cleo")
    world.add_bluesky("eve.bsky.social", "Eve")
    world.add_mastodon("dan@social.fakenet.org", "Dan")
    claims = [
        {"x_id": CLEO, "x_handle": "cleo", "bluesky": "did:plc:cleo", "updated": "2026-01-01"},
        {"x_id": DAN, "x_handle": "dan", "mastodon": "dan@social.fakenet.org", "updated": "2026-01-01"},
        {"x_id": EVE, "x_handle": "eve", "bluesky": "eve.bsky.social", "updated": "2026-01-01"},
    ]
    compile_directory([parse_claim(c) for c in claims], folder / "static" / "dir", "Test directory")
    # A directory the person may add by URL: it says the same of Cleo, and names Pat alone.
    world.add_bluesky("pat-added.bsky.social", "Pat", did="did:plc:pat")
    added = [claims[0], {"x_id": PAT, "x_handle": "pat", "bluesky": "did:plc:pat", "updated": "2026-01-01"}]
    compile_directory([parse_claim(c) for c in added], folder / "static" / "added", "Test directory")
    world.static_root = folder / "static"
    spec = ArchiveSpec(
        following=[ANN, BEN, CLEO, EVE, FAY, *people(20, 5_000_000_000)],
        followers=[CLEO, DAN, *people(10, 5_000_000_020)],
        blocked=[EVE],
        posts=[
            Post(
                "1600000000000000001",
                [
                    Mention(ANN, "ann_smith", "Ann Smith"),
                    Mention(BEN, "ben", "Ben"),
                    Mention(FAY, "fay_lee", "Fay Lee"),
                ],
            )
        ],
    )
    archive = write_zip(folder / "archive.zip", archive_files(spec))
    with serve(world) as appview, serve(world) as files, serve(world, "social.fakenet.org") as social:
        configuration = (
            f'bluesky_appview = "{appview}"\n'
            f'directories = ["{files}/dir/"]\n'
            f'[mastodon_instance_urls]\n"social.fakenet.org" = "{social}"\n'
        )
        with site_served_with(configuration, folder) as url:
            yield {
                "url": url,
                "archive": archive,
                "log": world.log,
                "faults": world.faults,
                "appview": appview,
                "world": world,
            }


def read_and_match(page: Page, site: str, archive: Path) -> None:
    page.goto(f"{site}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("archive-input").set_input_files(archive)
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-complete", "1")
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)


def rows(page: Page) -> dict[str, dict[str, str]]:
    found = {}
    for row in page.get_by_test_id("match-row").all():
        attributes = {name: row.get_attribute(f"data-{name}") for name in ("x-id", "network", "account", "confidence")}
        found[attributes["account"]] = attributes
    return found


def test_matching_flow_from_archive_to_mastodon_csv(page: Page, page_log: PageLog, world: dict) -> None:
    read_and_match(page, world["url"], world["archive"])
    found = rows(page)
    assert found["ann-smith.bsky.social"] == {
        "x-id": ANN,
        "network": "bluesky",
        "account": "ann-smith.bsky.social",
        "confidence": "high",
    }
    assert found["cleo.bsky.social"]["confidence"] == "high" and found["cleo.bsky.social"]["x-id"] == CLEO
    assert found["dan@social.fakenet.org"]["network"] == "mastodon"
    assert "eve.bsky.social" not in found  # blocked on X
    cleo = page.locator("[data-testid=match-row][data-account='cleo.bsky.social']")
    expect(cleo).to_contain_text("<b>Cleo</b> & co")  # names from the networks are text, never HTML
    assert cleo.locator("b").count() == 0
    with page.expect_download() as download:
        page.get_by_test_id("export-mastodon-csv").click()
    assert download.value.suggested_filename == "mastodon-following.csv"
    table = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert table == [
        ["Account address", "Show boosts", "Notify on new posts", "Languages"],
        ["dan@social.fakenet.org", "true", "false", ""],
    ]
    with page.expect_download() as download:
        page.get_by_test_id("export-bluesky").click()
    handles = Path(download.value.path()).read_text().splitlines()
    assert handles[0].startswith("handle,did") and len(handles) == 3


def test_requests_carry_no_archive_data(page: Page, page_log: PageLog, world: dict) -> None:
    methods: list[str] = []
    page.on("request", lambda request: methods.append(request.method))
    start = len(world["log"])
    read_and_match(page, world["url"], world["archive"])
    assert set(methods) <= {"GET"}
    sent = world["log"][start:] + page_log.requests
    leaks = [line for line in sent if any(x_id in line for x_id in ARCHIVE_IDS)]
    assert not leaks, leaks
    appview_queries = [line for line in world["log"][start:] if "/xrpc/" in line]
    assert appview_queries, "the AppView was asked about the named people"


def test_filters_search_and_selection(page: Page, page_log: PageLog, world: dict) -> None:
    read_and_match(page, world["url"], world["archive"])
    visible = page.locator("[data-testid=match-row]:visible")
    page.get_by_test_id("filter-network").select_option("mastodon")
    expect(visible).to_have_count(1)
    page.get_by_test_id("filter-network").select_option("")
    page.get_by_test_id("filter-relation").select_option("both")
    expect(visible).to_have_count(1)
    expect(visible.first).to_have_attribute("data-account", "cleo.bsky.social")
    page.get_by_test_id("filter-relation").select_option("")
    page.get_by_test_id("filter-text").fill("ann")
    expect(visible).to_have_count(1)
    page.get_by_test_id("filter-text").fill("")
    page.get_by_test_id("deselect-all").click()
    expect(page.get_by_test_id("result-counts")).to_contain_text("5 shown, 0 selected")
    with page.expect_download() as download:
        page.get_by_test_id("export-mastodon-csv").click()
    assert Path(download.value.path()).read_text().strip().count("\n") == 0  # header only


def run_the_demo(page: Page, site_url: str) -> None:
    page.goto(f"{site_url}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("try-demo").click()
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-complete", "1")
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)


def test_the_sample_archive_shows_what_a_person_will_really_see(page: Page, page_log: PageLog, site_url: str) -> None:
    """The sample is matched by the real code against the demo's networks, recorded as files of the
    site: levels with their reasons, ties, a conflict, a choice, a move, avatars; never the internet."""
    answers: dict[str, int] = {}
    page.on("response", lambda response: answers.__setitem__(response.url, response.status))
    run_the_demo(page, site_url)
    expect(page.locator("[data-demo-note]")).to_be_visible()
    found = rows(page)
    assert not any("spam" in account or "stranger" in account for account in found)  # blocked; not a contact
    assert found["ada.demo.example"]["confidence"] == found["ada@social.demo.example"]["confidence"] == "high"
    assert found["elif.demo.example"]["confidence"] == "high"  # her bio names her X handle, and ties
    assert "elif-yilmaz.demo.example" not in found  # a parody account is left out
    assert found["hugotanaka84.demo.example"]["confidence"] == "low"
    assert {found[a]["confidence"] for a in ("dmitri.demo.example", "dkovac.demo.example")} == {"low"}  # conflict
    row = page.locator("[data-testid=match-row][data-account='bruno@mamot.demo.example']")
    expect(row.locator(".match-reasons")).to_contain_text("bruno@piaille.demo.example")  # moved
    expect(page.locator("[data-account='dmitri.demo.example'] .match-reasons")).to_contain_text("disagree")
    expect(page.locator("[data-account='elif.demo.example'] .match-reasons")).to_contain_text("of your contacts")
    expect(page.locator("[data-account='lena@social.demo.example'] .match-bridge")).to_contain_text("ap.brid.gy")
    choice = page.get_by_test_id("match-choice")
    expect(choice).to_have_count(1)
    expect(choice.get_by_test_id("match-row")).to_have_count(2)
    low = page.locator("[data-account='hugotanaka84.demo.example'] [data-testid=match-select]")
    expect(low).not_to_be_checked()
    # Avatars are the site's own files, all loaded; handles are not links to real profiles.
    avatars = page.locator("[data-testid=match-row] img.avatar")
    assert avatars.count() == len(found)
    for avatar in avatars.all():
        assert avatar.get_attribute("src").startswith(f"{site_url}assets/demo/avatars/")
        avatar.scroll_into_view_if_needed()  # (loaded lazily)
        expect(avatar).to_have_js_property("complete", True)
        assert avatar.evaluate("image => image.naturalWidth") > 0
    expect(page.locator("[data-testid=match-row] a.handle")).to_have_count(0)
    # The follow panel says it follows nobody, and cannot be used.
    expect(page.get_by_test_id("follow-demo")).to_be_visible()
    expect(page.get_by_test_id("follow-start")).to_be_disabled()
    expect(page.get_by_test_id("bluesky-connect")).to_be_disabled()
    origin = site_url.split("/some")[0]
    assert all(url.startswith(origin) for url in page_log.requests), page_log.requests
    recorded = [url for url in answers if "/assets/demo/networks/" in url]
    assert len(recorded) > 10 and all(answers[url] == 200 for url in recorded), answers  # every answer recorded


def test_an_own_archive_after_the_sample_is_matched_for_real(page: Page, page_log: PageLog, world: dict) -> None:
    run_the_demo(page, world["url"])
    expect(page.get_by_test_id("follow-demo")).to_be_visible()
    before = len(world["log"])
    page.get_by_test_id("archive-input").set_input_files(world["archive"])
    expect(page.get_by_test_id("follow-demo")).to_be_hidden()
    expect(page.get_by_test_id("follow-start")).to_be_enabled()
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    assert world["log"][before:]  # the configured AppView and servers were asked this time
    expect(page.locator("[data-demo-note]")).to_be_hidden()


def test_a_second_run_refetches_nothing_fresh(page: Page, page_log: PageLog, world: dict) -> None:
    read_and_match(page, world["url"], world["archive"])
    before = len(world["log"])
    page.evaluate("document.querySelector('[data-testid=matching-done]').hidden = true")
    page.get_by_test_id("start-matching").click()  # answered from memory: it may be done at once
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    assert page.get_by_test_id("matching-done").get_attribute("data-requests") == "0"
    assert world["log"][before:] == []
    assert len(page.get_by_test_id("match-row").all()) == 5


def pick_archive_and_add_directory(page: Page, world: dict, folder: str) -> None:
    """Open the matcher, pick the test archive, and add the directory at ``folder`` of the fake server."""
    page.goto(f"{world['url']}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("archive-input").set_input_files(world["archive"])
    page.locator("[data-testid=matching] summary").click()
    page.get_by_test_id("directory-url").fill(f"{world['appview']}/{folder}/")
    page.get_by_test_id("directory-url").press("Enter")


def test_a_directory_added_in_the_page_is_asked_too(page: Page, page_log: PageLog, world: dict) -> None:
    pick_archive_and_add_directory(page, world, "another")
    before = len(world["log"])
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    assert any("/another/directory.json" in line for line in world["log"][before:])
    expect(page.get_by_test_id("match-failures")).to_contain_text("/another/")


def test_a_directory_added_in_the_page_is_never_high_by_itself(page: Page, page_log: PageLog, world: dict) -> None:
    pick_archive_and_add_directory(page, world, "added")
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    found = rows(page)
    assert found["pat-added.bsky.social"]["confidence"] == "medium"  # only the added directory says so
    assert found["cleo.bsky.social"]["confidence"] == "high"  # the site's directory says the same


CACHED_URLS = """async () => {
    const names = await caches.keys();
    const urls = [];
    for (const name of names) {
        for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return urls;
}"""


def test_answers_are_kept_on_the_device_only_with_consent(page: Page, page_log: PageLog, world: dict) -> None:
    read_and_match(page, world["url"], world["archive"])
    assert page.evaluate(CACHED_URLS) == []  # not asked: kept in memory only
    page.get_by_test_id("keep-on-device").click()
    expect(page.get_by_test_id("matcher-status")).to_contain_text("Kept on this device.")
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    page.wait_for_function("async () => (await caches.keys()).length > 0")
    assert any("/xrpc/" in url for url in page.evaluate(CACHED_URLS))
    page.get_by_test_id("forget-everything").click()
    expect(page.get_by_test_id("matcher-status")).to_have_text("Everything was forgotten on this device.")
    assert page.evaluate(CACHED_URLS) == []


def test_an_answer_after_forget_everything_is_kept_nowhere(page: Page, page_log: PageLog, world: dict) -> None:
    page.goto(f"{world['url']}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("archive-input").set_input_files(world["archive"])
    page.get_by_test_id("keep-on-device").click()
    expect(page.get_by_test_id("matcher-status")).to_be_visible()
    world["faults"]["/xrpc/"] = Fault("slow", times=0, seconds=1.5)
    try:
        before = len(world["log"])
        page.get_by_test_id("start-matching").click()
        deadline = time.monotonic() + 30
        while not any("/xrpc/" in line for line in world["log"][before:]) and time.monotonic() < deadline:
            page.wait_for_timeout(50)  # until the AppView is answering, slowly
        page.get_by_test_id("forget-everything").click()
        expect(page.get_by_test_id("results")).to_be_hidden()
        page.wait_for_timeout(3_000)  # the slow answers arrive after the forgetting
    finally:
        world["faults"].clear()
    assert any("/xrpc/" in line for line in world["log"][before:])
    assert page.evaluate(CACHED_URLS) == []
    expect(page.get_by_test_id("results")).to_be_hidden()
    expect(page.get_by_test_id("archive-summary")).to_be_hidden()


def test_directories_only_asks_nobody_else(page: Page, page_log: PageLog, world: dict) -> None:
    page.goto(f"{world['url']}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("archive-input").set_input_files(world["archive"])
    page.get_by_test_id("directories-only").check()
    before = len(world["log"])
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    asked = world["log"][before:]
    assert asked and all("/dir/" in line for line in asked), asked
    found = rows(page)
    assert {"cleo.bsky.social", "dan@social.fakenet.org"} <= set(found) or "did:plc:cleo" in found
    expect(page.get_by_test_id("match-row").first).to_contain_text("not checked on its network")


def test_the_demo_runs_under_the_strict_header_policy(page: Page, page_log: PageLog, site_url: str, config) -> None:
    policy = security_headers(config)["Content-Security-Policy"]
    headers: dict[str, str] = {}

    def record(response) -> None:
        name = response.url.split("?")[0].rsplit("/", 1)[-1] or "page"
        headers.setdefault(name, response.headers.get("content-security-policy", ""))

    page.on("response", record)
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));"
    )
    run_the_demo(page, site_url)
    assert page.evaluate("window.__violations") == []
    assert {headers[name] for name in ("page", "matcher-worker.js", "pyodide.asm.wasm")} == {policy}


def stored(page: Page, key: str) -> object:
    return page.evaluate(
        """key => new Promise(resolve => {
            const request = indexedDB.open("passerelle", 1);
            request.onupgradeneeded = () => request.result.createObjectStore("graphs");
            request.onsuccess = () => {
                const get = request.result.transaction("graphs").objectStore("graphs").get(key);
                get.onsuccess = () => resolve(get.result === undefined ? null : get.result);
            };
        })""",
        key,
    )


def test_levels_are_explained_and_two_candidates_are_shown_side_by_side(
    page: Page, page_log: PageLog, world: dict
) -> None:
    read_and_match(page, world["url"], world["archive"])
    legend = page.get_by_test_id("confidence-legend")
    expect(legend).to_contain_text("99 in 100")
    expect(legend).to_contain_text("9 in 10")
    choice = page.get_by_test_id("match-choice")
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text("Which one is @fay_lee?")
    options = choice.get_by_test_id("match-row")
    expect(options).to_have_count(2)
    assert {options.nth(i).get_attribute("data-confidence") for i in range(2)} == {"low"}
    expect(choice).to_contain_text("Gardening.")  # bios, to tell them apart
    expect(choice.get_by_test_id("match-select").first).not_to_be_checked()
    expect(page.get_by_test_id("undecided")).to_contain_text("1 of your contacts could not be decided")
    expect(page.get_by_test_id("result-counts")).to_contain_text("5 shown, 3 selected")
    picked = choice.locator("[data-testid=match-row][data-account='faylee.example.com']")
    picked.get_by_test_id("choice-pick").check()
    expect(page.get_by_test_id("result-counts")).to_contain_text("5 shown, 4 selected")
    expect(picked.get_by_test_id("match-select")).to_be_checked()
    assert stored(page, "choices") is None  # not kept: the person did not ask
    with page.expect_download() as download:
        page.get_by_test_id("export-bluesky").click()
    assert "faylee.example.com" in Path(download.value.path()).read_text()


def test_a_choice_is_kept_only_with_consent_and_forgotten_with_everything(
    page: Page, page_log: PageLog, world: dict
) -> None:
    read_and_match(page, world["url"], world["archive"])
    page.get_by_test_id("keep-on-device").click()
    expect(page.get_by_test_id("matcher-status")).to_be_visible()
    choice = page.get_by_test_id("match-choice")
    choice.locator("[data-account='fay-lee.bsky.social']").get_by_test_id("choice-pick").check()
    page.wait_for_function(
        """() => new Promise(resolve => {
            const request = indexedDB.open("passerelle", 1);
            request.onsuccess = () => {
                const get = request.result.transaction("graphs").objectStore("graphs").get("choices");
                get.onsuccess = () => resolve(!!get.result);
            };
        })"""
    )
    assert stored(page, "choices")["choices"] == {FAY: "fay-lee.bsky.social"}
    page.goto(f"{world['url']}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("restore-saved").click()
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    remembered = page.locator("[data-testid=match-row][data-account='fay-lee.bsky.social']")
    expect(remembered.get_by_test_id("match-select")).to_be_checked()
    expect(remembered.get_by_test_id("choice-pick")).to_be_checked()
    page.get_by_test_id("forget-everything").click()
    expect(page.get_by_test_id("matcher-status")).to_have_text("Everything was forgotten on this device.")
    assert stored(page, "choices") is None and stored(page, "current") is None


def test_with_the_summary_kept_a_new_run_shows_who_is_new_first_and_forgetting_drops_it(
    page: Page, page_log: PageLog, world: dict
) -> None:
    read_and_match(page, world["url"], world["archive"])
    page.get_by_test_id("keep-on-device").click()
    expect(page.get_by_test_id("matcher-status")).to_contain_text("Kept on this device")
    before = set(rows(page))
    profile = world["world"].add_bluesky("ben.bsky.social", "Ben")  # Ben joins Bluesky meanwhile
    try:
        page.reload()
        expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
        page.get_by_test_id("restore-saved").click()
        expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-complete", "1")
        page.get_by_test_id("start-matching").click()
        expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
        note = page.get_by_test_id("new-since")
        expect(note).to_contain_text("1 found since then, shown first")
        assert set(rows(page)) - before == {"ben.bsky.social"}
        first = page.locator("[data-match-list] > [data-testid=match-row]").first
        expect(first).to_have_attribute("data-account", "ben.bsky.social")
        expect(first).to_have_attribute("data-new", "1")
        page.get_by_test_id("forget-everything").click()
        kept = page.evaluate("""async () => {
          const db = await new Promise((ok) => {
            const r = indexedDB.open("passerelle"); r.onsuccess = () => ok(r.result); });
          const keys = await new Promise((ok) => {
            const r = db.transaction("graphs").objectStore("graphs").getAllKeys(); r.onsuccess = () => ok(r.result); });
          db.close();
          return keys;
        }""")
        assert kept == []
    finally:
        del world["world"].bluesky[profile["did"]]
