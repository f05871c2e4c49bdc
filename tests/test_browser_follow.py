"""Following from the page, in Chromium, against real servers on loopback: the atproto PDS (its own
sign-in and consent pages, in a pop-up) and the fake Mastodon servers (app, consent, token, follow).
The rows' ``data-follow-state``, the PDS's ``listRecords`` and the fake server's follows prove that
exactly the selected people are followed, once; the storage proves that "Forget everything" forgets."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from pyscript_app.directory import compile_directory, parse_claim
from sitebuild.config import load_config
from sitebuild.render import build_site
from sitebuild.security import security_headers
from sitebuild.serve import make_server
from tests.archive_factory import ArchiveSpec, archive_files, people, write_zip
from tests.conftest import ROOT, PageLog
from tests.fake_mastodon import FakeFediverse, serve_fediverse
from tests.fake_network import FakeWorld, serve
from tests.pds_server import Account, PdsServer
from tests.test_follow_bluesky import follow_subjects

AMAL, BERT, CHLOE, DAN, ELI, FARAH = people(6, 3_100_000_000)
SOCIAL, OTHER = "social.fakenet.org", "other.fakenet.org"
PERSON_PASSWORD = "ana's password"


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
        config_file = folder / "site.toml"
        config_file.write_text(
            f'bluesky_appview = "{appview_url}"\n'
            f'directories = ["{appview_url}/dir/"]\n'
            f'bluesky_handle_resolver = "{pds.url}"\n'
            f'plc_directory_url = "{pds.plc_url}"\n'
            f'extra_connect_origins = ["{pds.url}"]\n'
            f"[mastodon_instance_urls]\n{instance_urls}",
            encoding="utf-8",
        )
        site = folder / "webroot" / "site"
        site_config = load_config(ROOT, config_file)
        build_site(site_config, site)
        server = make_server(site.parent, 0, headers=security_headers(site_config))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield {"url": f"http://127.0.0.1:{server.server_address[1]}/site/", "archive": archive, "me": me,
                   "friends": friends, "fediverse": fediverse, "pds": pds}
        finally:
            server.shutdown()
            server.server_close()


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


def explore_bluesky_sign_in(page: Page, world: dict[str, Any]) -> None:
    me: Account = world["me"]
    page.get_by_test_id("bluesky-handle").fill(me.handle)
    with page.expect_popup() as opened:
        page.get_by_test_id("bluesky-connect").click()
    popup = opened.value
    popup.wait_for_url(re.compile(r"^http://localhost:\d+/"), timeout=30_000)
    popup.locator("input[name=password]").fill(me.password)
    popup.get_by_role("button", name="Sign in", exact=True).click()
    popup.wait_for_timeout(3000)
    Path("/tmp/explore/1.html").write_text(popup.content())
    popup.screenshot(path="/tmp/explore/1.png")
    Path("/tmp/explore/1.txt").write_text(popup.url + "\n" + popup.inner_text("body") + "\n" + str(
        popup.eval_on_selector_all("input,button", "els => els.map(e => e.outerHTML)")))


def test_explore(page: Page, page_log: PageLog, world: dict[str, Any]) -> None:
    find_matches(page, world)
    explore_bluesky_sign_in(page, world)
