"""The matcher page in Chromium: Pyodide in a worker reads archives picked through the real inputs.

Every test fails on a console error (``page_log``) and checks that no Python traceback reaches
the page. The network log proves that picking an archive sends nothing anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from sitebuild.catalogs import po_path, read_catalog
from sitebuild.config import Config
from sitebuild.languages import Translator
from tests.archive_factory import (
    ArchiveSpec,
    Mention,
    Post,
    archive_files,
    people,
    set_encrypted_flag,
    write_folder,
    write_zip,
    write_zip_bomb,
)
from tests.conftest import PageLog

READY_TIMEOUT = 60_000


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("archives")
    spec = ArchiveSpec(
        following=people(40),
        followers=people(25, 3_000_000_000),
        blocked=["4000000000"],
        posts=[
            Post("1600000000000000001", [Mention(people(1)[0], "ann", "Ann")]),
            Post("1600000000000000002", [], reply_to=Mention("3000000001", "ben", "Ben")),
        ],
    )
    files = archive_files(spec)
    unzipped = write_folder(folder / "twitter-2023-08-20-abc", files)
    truncated = folder / "truncated.zip"
    whole = write_zip(folder / "whole.zip", files).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    not_zip = folder / "archive.zip"
    not_zip.write_text("<html>not a zip</html>")
    return {
        "zip": write_zip(folder / "twitter-archive.zip", files, top_folder="twitter-2023-08-20-abc/"),
        "folder": unzipped,
        "following": unzipped / "data" / "following.js",
        "follower": unzipped / "data" / "follower.js",
        "huge": write_zip(folder / "huge.zip", files, sparse_media_bytes=3 * 1024**3),
        "not_zip": not_zip,
        "truncated": truncated,
        "encrypted": set_encrypted_flag(write_zip(folder / "locked.zip", files)),
        "bomb": write_zip_bomb(folder / "bomb.zip", files),
        "instagram": write_zip(folder / "ig.zip", {"connections/followers_and_following/followers_1.json": b"[]"}),
    }


def open_matcher(page: Page, site_url: str, language: str = "en") -> None:
    """The page, ready, with its second worker ready too where the device has two cores."""
    page.goto(f"{site_url}{language}/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=READY_TIMEOUT)
    if page.evaluate("navigator.hardwareConcurrency") > 1:
        expect(page.locator("html")).to_have_attribute("data-names-reader", "1", timeout=READY_TIMEOUT)


def expect_summary(page: Page, following: int, followers: int, named: int) -> None:
    summary = page.get_by_test_id("archive-summary")
    expect(summary).to_have_attribute("data-complete", "1")
    expect(summary).to_be_visible()
    assert summary.get_attribute("data-following") == str(following)
    assert summary.get_attribute("data-followers") == str(followers)
    assert summary.get_attribute("data-named") == str(named)
    expect(page.get_by_test_id("archive-error")).to_be_hidden()


def assert_no_traceback(page: Page) -> None:
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and 'File "' not in text


def test_zip_is_read_on_the_device_and_nothing_is_sent(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path]
) -> None:
    posts: list[str] = []
    page.on("request", lambda request: request.method != "GET" and posts.append(f"{request.method} {request.url}"))
    open_matcher(page, site_url)
    before_pick = len(page_log.requests)
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])
    expect_summary(page, following=40, followers=25, named=2)
    expect(page.get_by_test_id("archive-summary")).to_contain_text("@example_owner")
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-names-read-by", "second")
    after_pick = page_log.requests[before_pick:]
    # only the runtime's files again, for the fresh second worker that replaces the one used
    assert set(after_pick) <= set(page_log.requests[:before_pick]), f"requests after the pick: {after_pick}"
    expect(page.locator("html")).to_have_attribute("data-names-reader", "1", timeout=READY_TIMEOUT)
    assert posts == []
    assert all(url.startswith(site_url.split("/some")[0]) for url in page_log.requests)
    assert_no_traceback(page)


def test_on_one_core_the_first_worker_reads_the_names_itself(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path]
) -> None:
    """No second worker where it cannot run at the same time; the summary is the same."""
    page.add_init_script("Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 1 })")
    open_matcher(page, site_url)
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])
    expect_summary(page, following=40, followers=25, named=2)
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-names-read-by", "first")
    assert page.get_attribute("html", "data-names-reader") is None
    assert sum("/pyodide.asm.wasm" in url for url in page_log.requests) == 1


def test_if_the_second_worker_fails_the_first_reads_the_names(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path]
) -> None:
    """The second worker cannot get the app (its copy is refused): a pick made meanwhile is still read whole."""
    fetched: list[str] = []

    def second_copy_refused(route: Route) -> None:
        fetched.append(route.request.url)
        route.abort() if len(fetched) > 1 else route.continue_()

    page.route("**/app/pyscript_app-*.zip", second_copy_refused)
    page.goto(f"{site_url}en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=READY_TIMEOUT)
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])
    expect_summary(page, following=40, followers=25, named=2)
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-names-read-by", "first")
    assert len(fetched) == 2 and page.get_attribute("html", "data-names-reader") is None
    page.evaluate("document.querySelector('[data-testid=archive-summary]').dataset.namesReadBy = ''")
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])  # and after it failed
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-names-read-by", "first")
    expect_summary(page, following=40, followers=25, named=2)


def test_unzipped_folder_through_the_directory_picker(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path]
) -> None:
    open_matcher(page, site_url)
    page.get_by_test_id("archive-folder-input").set_input_files(archives["folder"])
    expect_summary(page, following=40, followers=25, named=2)


def test_loose_following_and_follower_files(page: Page, page_log: PageLog, site_url: str, archives) -> None:
    open_matcher(page, site_url)
    page.get_by_test_id("archive-input").set_input_files([archives["following"], archives["follower"]])
    expect_summary(page, following=40, followers=25, named=0)
    expect(page.get_by_test_id("archive-summary")).to_contain_text("posts are not in what you picked")


def test_a_3_gb_archive_is_read_without_loading_it(page: Page, page_log: PageLog, site_url: str, archives) -> None:
    open_matcher(page, site_url)
    page.get_by_test_id("archive-input").set_input_files(archives["huge"])
    expect_summary(page, following=40, followers=25, named=2)
    heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
    assert heap < 200 * 1024**2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_zip", "The file %(file)s is not a zip file, or it is incomplete. Download your archive again."),
        ("truncated", "The zip file %(file)s is incomplete or damaged. Download your archive again."),
        ("encrypted", "This zip file is protected by a password. Use the archive exactly as X sent it."),
        ("bomb", "The file %(file)s in your archive is damaged. Download your archive again."),
        ("instagram", "This looks like an Instagram export, not an X archive. Pick the zip file that X sent you."),
    ],
)
def test_bad_input_gets_a_clear_message_and_the_page_stays_usable(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path], name: str, message: str
) -> None:
    open_matcher(page, site_url)
    page.get_by_test_id("archive-input").set_input_files(archives[name])
    error = page.get_by_test_id("archive-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(message.split("%(file)s")[-1].strip() or message)
    expect(page.get_by_test_id("archive-summary")).to_be_hidden()
    assert_no_traceback(page)
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])
    expect_summary(page, following=40, followers=25, named=2)


def test_errors_are_translated(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path], config: Config
) -> None:
    french = Translator(read_catalog(po_path(config, "fr"), locale="fr"))
    expected = french.gettext("This zip file is protected by a password. Use the archive exactly as X sent it.")
    assert not french.missing, "the French catalog lacks this message"
    open_matcher(page, site_url, "fr")
    page.get_by_test_id("archive-input").set_input_files(archives["encrypted"])
    expect(page.get_by_test_id("archive-error")).to_have_text(expected)


def test_keep_on_device_then_restore_then_forget(
    page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path]
) -> None:
    open_matcher(page, site_url)
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])
    expect_summary(page, following=40, followers=25, named=2)
    page.get_by_test_id("keep-on-device").click()
    expect(page.get_by_test_id("matcher-status")).to_be_visible()
    open_matcher(page, site_url)
    expect(page.get_by_test_id("saved-archive")).to_be_visible()
    page.get_by_test_id("restore-saved").click()
    expect_summary(page, following=40, followers=25, named=2)
    page.get_by_test_id("forget-everything").click()
    expect(page.get_by_test_id("archive-summary")).to_be_hidden()
    open_matcher(page, site_url)
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("saved-archive")).to_be_hidden()
    kept = page.evaluate(
        """() => new Promise(resolve => {
            const request = indexedDB.open("passerelle", 1);
            request.onupgradeneeded = () => request.result.createObjectStore("graphs");
            request.onsuccess = () => {
                const get = request.result.transaction("graphs").objectStore("graphs").get("current");
                get.onsuccess = () => resolve(get.result === undefined ? null : "kept");
            };
        })"""
    )
    assert kept is None


def test_nothing_is_kept_unless_asked(page: Page, page_log: PageLog, site_url: str, archives: dict[str, Path]) -> None:
    open_matcher(page, site_url)
    page.get_by_test_id("archive-input").set_input_files(archives["zip"])
    expect_summary(page, following=40, followers=25, named=2)
    open_matcher(page, site_url)
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("saved-archive")).to_be_hidden()
    assert page.evaluate("localStorage.length") == 0
