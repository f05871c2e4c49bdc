"""Right-to-left done right: in Arabic, handles, addresses and web addresses keep their visual order."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.conftest import PageLog

# The left edge, on screen, of each character of an element's text, in text order.
CHARACTER_LEFTS = """element => {
    const lefts = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getBoundingClientRect();
            lefts.push({ char: node.data[i], left: rect.left, width: rect.width });
        }
    }
    return lefts;
}"""


def shown_left_to_right(element: Locator, start: int, end: int) -> bool:
    """True when the characters from ``start`` to ``end`` of the element's text (the printable ones)
    are laid out from left to right, as a handle or a web address must be."""
    lefts = [c for c in element.evaluate(CHARACTER_LEFTS) if c["width"] > 0]
    run = [c["left"] for c in lefts[start:end]]
    return len(run) == end - start and run == sorted(run)


def test_handles_and_addresses_keep_their_order_in_the_arabic_matcher(
    page: Page, page_log: PageLog, site_url: str
) -> None:
    page.goto(f"{site_url}ar/match/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=60_000)
    page.get_by_test_id("try-demo").click()
    expect(page.get_by_test_id("archive-summary")).to_have_attribute("data-complete", "1")
    page.get_by_test_id("start-matching").click()
    expect(page.get_by_test_id("matching-done")).to_be_visible(timeout=60_000)
    row = page.get_by_test_id("match-row").first
    handle = row.locator(".handle")
    expect(handle).to_have_text(re.compile(r"^@\S+$"))  # (rows may still be redrawn as the last answers come)
    text = handle.inner_text()
    assert text.startswith("@")
    assert shown_left_to_right(handle, 0, len(text))  # "@alice…", never "alice…@"
    x_handle = row.locator(".x-handle")
    shown = x_handle.inner_text()
    at = [c for c in x_handle.evaluate(CHARACTER_LEFTS) if c["width"] > 0]
    start = next(i for i, c in enumerate(at) if c["char"] == "@")
    end = start + 1
    while end < len(at) and (at[end]["char"].isascii() and at[end]["char"].strip()):
        end += 1
    assert end - start > 2, shown
    assert shown_left_to_right(x_handle, start, end), shown  # "@handle" inside an Arabic sentence
    page.locator("[data-testid=matching] summary").click()
    directory = page.locator("[data-directory-list] li").first
    assert shown_left_to_right(directory, 0, len(directory.inner_text()))  # a URL, "http://…/" in order


def test_web_addresses_keep_their_order_in_the_arabic_guide(page: Page, page_log: PageLog, site_url: str) -> None:
    page.goto(f"{site_url}ar/follow-again/")
    code = page.locator("main code", has_text="@bsky.brid.gy").first
    assert shown_left_to_right(code, 0, len(code.inner_text()))
    # A link whose text is a web address, in an Arabic paragraph of the page, under the page's own
    # stylesheet: "https://fed.brid.gy/", never "/https://fed.brid.gy" or "//:https".
    page.locator("main p").first.evaluate(
        """p => {
            const link = document.createElement("a");
            link.href = "https://fed.brid.gy/";
            link.textContent = "https://fed.brid.gy/";
            link.id = "address";
            p.append(" ", link, " .");
        }"""
    )
    link = page.locator("#address")
    assert shown_left_to_right(link, 0, len("https://fed.brid.gy/"))
