"""The Content Security Policy: every page carries it, and nothing on a page needs an exception to it."""

from __future__ import annotations

import re
from pathlib import Path

from sitebuild.config import Config
from sitebuild.security import content_security_policy, headers_file, plain_http_origins, security_headers
from tests.test_hostile_translations import elements

STRICT = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' https:; "
    "img-src 'self' https: data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def test_the_policy_is_the_strict_one(config: Config) -> None:
    assert content_security_policy(config) == STRICT
    assert security_headers(config)["Content-Security-Policy"] == STRICT
    assert "frame-ancestors" not in content_security_policy(config, for_meta=True)
    assert f"Content-Security-Policy: {STRICT}" in headers_file(config)


def test_plain_http_servers_are_allowed_only_when_the_configuration_names_them(config: Config) -> None:
    local = type(config)(**{**config.__dict__, "extra": {**config.extra, "bluesky_appview": "http://127.0.0.1:9/"}})
    assert plain_http_origins(local) == ["http://127.0.0.1:9"]
    assert "connect-src 'self' https: http://127.0.0.1:9;" in content_security_policy(local)


def test_every_page_carries_the_policy_and_needs_no_exception(built_site: Path, config: Config) -> None:
    meta = content_security_policy(config, for_meta=True)
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 50
    for page in pages:
        found = elements(page.read_text(encoding="utf-8"))
        policies = [
            a.get("content") for tag, a in found if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"
        ]
        assert policies == [meta], page
        for tag, attributes in found:
            assert "style" not in attributes, (page, tag)  # style-src 'self': no inline style
            assert not [name for name in attributes if name.startswith("on")], (page, tag)  # no inline handlers
            if tag == "script":  # no inline script: a script has a src, or is data
                assert attributes.get("src") or attributes.get("type") == "application/json", page
    assert (built_site / "_headers").read_text(encoding="utf-8") == headers_file(config)


def test_the_static_scripts_do_not_evaluate_strings() -> None:
    static = Path(__file__).resolve().parent.parent / "site" / "static"
    for script in static.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert not re.search(
            r"\beval\(|new Function\(|setTimeout\(\s*['\"]|innerHTML|outerHTML|insertAdjacentHTML", text
        ), script
