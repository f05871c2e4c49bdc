"""Shared fixtures: the built site, a loopback server for it, and a strict browser page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sitebuild.config import Config, load_config
from sitebuild.render import build_site
from sitebuild.security import security_headers
from sitebuild.serve import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SUBFOLDER = "some/sub folder/passerelle"
@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(ROOT)


@pytest.fixture(scope="session")
def built_site(config: Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real site, built once for the session, inside a subfolder of a web root."""
    out = tmp_path_factory.mktemp("webroot") / SUBFOLDER
    build_site(config, out)
    return out


@pytest.fixture(scope="session")
def site_url(config: Config, built_site: Path) -> Iterator[str]:
    """The site's address, served from a subfolder to prove every URL is relative."""
    webroot = built_site
    for _ in SUBFOLDER.split("/"):
        webroot = webroot.parent
    server = make_server(webroot, 0, headers=security_headers(config))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/{SUBFOLDER.replace(' ', '%20')}/"
    server.shutdown()
    server.server_close()


@contextmanager
def site_served_with(configuration: str, folder: Path) -> Iterator[str]:
    """The real site built with ``configuration`` (TOML: test servers on loopback) into ``folder``,
    served on 127.0.0.1 with the site's headers; yields its address."""
    config_file = folder / "site.toml"
    config_file.write_text(configuration, encoding="utf-8")
    site = folder / "webroot" / "site"
    site_config = load_config(ROOT, config_file)
    build_site(site_config, site)
    server = make_server(site.parent, 0, headers=security_headers(site_config))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/site/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class PageLog:
    """What a page said and asked for while a test ran."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def page_log(page) -> Iterator[PageLog]:
    """Records console errors, uncaught exceptions and every request; a test fails on any error."""
    log = PageLog()
    page.on("console", lambda message: message.type == "error" and log.errors.append(message.text))
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    page.on("request", lambda request: log.requests.append(request.url))
    yield log
    assert not log.errors, f"console errors: {log.errors}"


# The real atproto PDS + PLC on loopback (tests/pds/), started only by the tests that ask for it.
from tests.pds_server import pds, pds_rate_limited  # noqa: E402, F401
