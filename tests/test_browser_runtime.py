"""The matcher's runtime in Chromium: compressed, cached, under the site's CSP, checked against its digests.

These tests use the site served by ``tests/conftest.py`` (the deployed Content-Security-Policy is
sent with every file), or a damaged copy of it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from sitebuild.config import Config
from sitebuild.security import security_headers
from sitebuild.serve import make_server
from tests.conftest import PageLog

READY_TIMEOUT = 60_000


def test_the_runtime_arrives_compressed_and_under_the_csp(page: Page, page_log: PageLog, site_url: str) -> None:
    encodings: dict[str, str] = {}
    violations: list[str] = []
    page.on("response", lambda response: encodings.update({response.url: response.headers.get("content-encoding", "")}))
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.goto(site_url + "en/match/")
    expect(page.locator("html")).to_have_attribute("data-ready", "1", timeout=READY_TIMEOUT)
    wasm = [url for url in encodings if url.endswith("pyodide.asm.wasm")]
    assert len(wasm) == 1 and encodings[wasm[0]] == "br"
    stdlib = [url for url in encodings if "/python_stdlib-" in url]
    assert len(stdlib) == 1 and encodings[stdlib[0]] == "br"
    assert not [url for url in encodings if url.endswith("pyodide-lock.json")]
    assert not violations


@pytest.fixture
def damaged_site(built_site: Path, tmp_path: Path, config: Config) -> Iterator[str]:
    """A copy of the site whose wasm is not the one the page's digest names."""
    copy = tmp_path / "site"
    shutil.copytree(built_site, copy)
    for wasm in copy.glob("assets/pyodide/*/pyodide.asm.wasm"):
        data = bytearray(wasm.read_bytes())
        data[-1] ^= 0xFF
        wasm.write_bytes(bytes(data))
        for variant in (wasm.with_name(wasm.name + ".br"), wasm.with_name(wasm.name + ".gz")):
            variant.unlink()
    server = make_server(copy, 0, headers=security_headers(config))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_runtime_file_that_does_not_match_its_digest_stops_the_start(browser: Browser, damaged_site: str) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(damaged_site + "en/match/")
    status = page.get_by_test_id("runtime-status")
    expect(status).to_contain_text("could not start", timeout=READY_TIMEOUT)
    assert page.get_attribute("html", "data-ready") is None
    assert any("pyodide.asm.wasm was refused" in error for error in errors), errors
    page.close()
