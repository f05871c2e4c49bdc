"""The guide in a real Chromium: languages, switcher, right-to-left, no third-party requests."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PageLog

LANGUAGES = ["en", "fr", "de", "ar"]


def same_origin(url: str, site_url: str) -> bool:
    origin = re.match(r"^https?://[^/]+/", site_url).group(0)
    return url.startswith(origin)


@pytest.mark.parametrize("language", LANGUAGES)
def test_guide_pages_render_without_errors_or_foreign_requests(
    page: Page, page_log: PageLog, site_url: str, language: str
) -> None:
    for path in ("", "request-archive/", "faq/", "match/"):
        page.goto(f"{site_url}{language}/{path}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.styleSheets.length") >= 1
    assert page_log.requests and all(same_origin(url, site_url) for url in page_log.requests), page_log.requests


def test_language_switcher_keeps_the_page(page: Page, page_log: PageLog, site_url: str) -> None:
    page.goto(f"{site_url}en/faq/")
    page.get_by_test_id("language-switcher").locator("summary").click()
    page.get_by_test_id("lang-fr").click()
    expect(page).to_have_url(f"{site_url}fr/faq/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_test_id("language-switcher").locator("summary").click()
    page.get_by_test_id("lang-de").click()
    expect(page).to_have_url(f"{site_url}de/faq/")
    expect(page.locator("html")).to_have_attribute("lang", "de")


def test_next_and_previous_follow_the_steps(page: Page, page_log: PageLog, site_url: str) -> None:
    page.goto(f"{site_url}fr/request-archive/")
    page.get_by_test_id("next-page").click()
    expect(page).to_have_url(f"{site_url}fr/create-account/")
    page.get_by_test_id("previous-page").click()
    expect(page).to_have_url(f"{site_url}fr/request-archive/")


def test_arabic_is_laid_out_right_to_left(page: Page, page_log: PageLog, site_url: str) -> None:
    page.set_viewport_size({"width": 1000, "height": 800})
    page.goto(f"{site_url}ar/request-archive/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    brand = page.get_by_test_id("brand").bounding_box()
    switcher = page.get_by_test_id("language-switcher").bounding_box()
    assert brand["x"] > switcher["x"], "the brand starts on the right in a right-to-left page"
    heading = page.locator("h1").bounding_box()
    assert heading["x"] + heading["width"] > 900 - 120, "the title hugs the right edge"
    english = page.goto(f"{site_url}en/request-archive/")
    assert english.ok
    brand_ltr = page.get_by_test_id("brand").bounding_box()
    assert brand_ltr["x"] < page.get_by_test_id("language-switcher").bounding_box()["x"]


@pytest.mark.parametrize(("locale", "expected"), [("fr-FR", "fr/"), ("pt-BR", "pt/"), ("ar-EG", "ar/"), ("de", "de/")])
def test_chooser_follows_the_browser_preference(browser: Browser, site_url: str, locale: str, expected: str) -> None:
    context = browser.new_context(locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site_url)
    expect(page).to_have_url(site_url + expected)
    assert not errors
    context.close()


def test_chooser_is_a_plain_list_without_a_match_or_without_javascript(browser: Browser, site_url: str) -> None:
    for options in ({"locale": "ko-KR"}, {"locale": "fr-FR", "java_script_enabled": False}):
        context = browser.new_context(**options)
        page = context.new_page()
        page.goto(site_url)
        expect(page).to_have_url(site_url)
        expect(page.get_by_test_id("language-list").locator("a")).to_have_count(14)
        context.close()


def test_all_languages_link_shows_the_list_instead_of_redirecting(browser: Browser, site_url: str) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{site_url}de/faq/")
    page.get_by_test_id("all-languages").click()
    expect(page).to_have_url(f"{site_url}#all")
    expect(page.get_by_test_id("language-list")).to_be_visible()
    context.close()


def test_guide_needs_no_javascript(browser: Browser, site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site_url}es/follow-again/")
    expect(page.locator("article h1")).to_be_visible()
    page.get_by_test_id("language-switcher").locator("summary").click()
    page.get_by_test_id("lang-it").click()
    expect(page).to_have_url(f"{site_url}it/follow-again/")
    context.close()
