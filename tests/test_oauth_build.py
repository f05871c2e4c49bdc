"""Bluesky sign-in at build time: the bundled atproto OAuth client, its client metadata, the
sign-in callback page and the configuration that reaches them (issue 7, build side)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from sitebuild.config import Config, load_config
from sitebuild.errors import BuildError
from sitebuild.oauth_client import (
    CALLBACK_PAGE,
    REQUIRED_EXPORTS,
    SOURCE,
    bundle_client,
    installed_client,
    oauth_scope,
    pins_digest,
    site_base,
)
from sitebuild.render import build_site
from sitebuild.security import content_security_policy, extra_connect_origins
from tests.conftest import PageLog

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = "https://passerelle.example.net/some/path/"
PAGE_CONFIG = re.compile(r'<script type="application/json" id="(?:signin|matcher)-config">(.*?)</script>', re.S)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def page_config(html: str) -> dict:
    found = PAGE_CONFIG.search(html)
    assert found, "no page configuration"
    return json.loads(found.group(1))


def bundle_path(site: Path) -> Path:
    (found,) = sorted((site / "assets" / "app").glob("atproto-oauth-*.mjs"))
    return found


def languages(site: Path) -> list[str]:
    return sorted(p.parent.parent.name for p in site.glob(f"*/{CALLBACK_PAGE}/index.html"))


def run_node(script: str, cwd: Path) -> str:
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def hosted_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real site built for https hosting, with loopback test servers configured."""
    folder = tmp_path_factory.mktemp("hosted")
    override = folder / "hosted.toml"
    override.write_text(
        f'site_url = "{SITE_URL}"\n'
        'bluesky_handle_resolver = "http://127.0.0.1:4100"\n'
        'plc_directory_url = "http://localhost:4101/"\n'
        'extra_connect_origins = ["http://127.0.0.1:4102", "http://[::1]:4103/"]\n',
        encoding="utf-8",
    )
    out = folder / "site"
    build_site(load_config(ROOT, override), out)
    return out


# -- the bundle ---------------------------------------------------------------------------------


def test_bundle_is_named_by_its_content_and_compressed(built_site: Path) -> None:
    bundle = bundle_path(built_site)
    data = bundle.read_bytes()
    assert bundle.name == f"atproto-oauth-{hashlib.sha256(data).hexdigest()[:10]}.mjs"
    assert Path(f"{bundle}.br").is_file() and Path(f"{bundle}.gz").is_file()
    assert not re.search(rb"\bimport\s*[(\"'{*]", data), "one self-contained module: it imports nothing"


def test_bundle_exports_what_the_pages_import(built_site: Path) -> None:
    """Read from the minified module's own export statement, not from the build's metafile."""
    text = bundle_path(built_site).read_text(encoding="utf-8")
    statements = re.findall(r"export\s*\{([^}]*)\}", text)
    assert len(statements) == 1
    names = {part.split(" as ")[-1].strip() for part in statements[0].split(",")}
    assert set(REQUIRED_EXPORTS) <= names
    used = set(re.findall(r"client\.(\w+)", (ROOT / "site" / "static" / "signed-in.js").read_text()))
    assert used and used <= names


def test_pins_have_no_registry_address_and_every_package_an_integrity() -> None:
    lock = json.loads((SOURCE / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((SOURCE / "package.json").read_text(encoding="utf-8"))
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in manifest["dependencies"].values())
    assert manifest["dependencies"]["@atproto/oauth-client-browser"] == "0.5.7"
    packages = {name: entry for name, entry in lock["packages"].items() if name}
    assert packages and all("resolved" not in entry for entry in packages.values())
    assert all(entry.get("integrity", "").startswith("sha512-") for entry in packages.values())


def test_client_id_is_the_loopback_one_on_loopback_and_the_published_one_elsewhere(
    built_site: Path, config: Config
) -> None:
    """The bundle's clientIdFor, run under Node, checked with atproto's own parser of loopback ids."""
    matcher = page_config((built_site / "fr" / "match" / "index.html").read_text(encoding="utf-8"))["oauth"]
    callback = page_config((built_site / "fr" / CALLBACK_PAGE / "index.html").read_text(encoding="utf-8"))["oauth"]
    modules = installed_client(config) / "node_modules"
    script = f"""
    const m = await import({json.dumps(bundle_path(built_site).as_uri())});
    const types = await import({json.dumps((modules / "@atproto/oauth-types/dist/index.js").as_uri())});
    const matcher = {json.dumps(matcher)}, callback = {json.dumps(callback)};
    const fromMatcher = m.clientIdFor(new URL('http://localhost:8123/site/fr/match/'), matcher);
    const fromCallback = m.clientIdFor(new URL('http://127.0.0.1:8123/site/fr/signed-in/#state=a&code=b'), callback);
    const hosted = {{...matcher, client_metadata: 'https://passerelle.example.net/oauth/client-metadata.json'}};
    console.log(JSON.stringify({{
      fromMatcher, fromCallback,
      parsed: types.parseOAuthLoopbackClientId(fromMatcher),
      ipv6: m.clientIdFor(new URL('http://[::1]:9/fr/match/'), matcher),
      hosted: m.clientIdFor(new URL('https://passerelle.example.net/fr/match/'), hosted),
      unset: m.clientIdFor(new URL('https://passerelle.example.net/fr/match/'), matcher),
    }}));
    process.exit(0);  // the client's BroadcastChannel would keep Node running
    """
    result = json.loads(run_node(script, modules.parent).strip().splitlines()[-1])
    assert result["fromMatcher"] == result["fromCallback"]
    assert result["parsed"]["redirect_uris"] == ["http://127.0.0.1:8123/site/fr/signed-in/"]
    assert result["parsed"]["scope"] == matcher["scope"] == oauth_scope(config)
    query = parse_qs(urlsplit(result["fromMatcher"]).query)
    assert urlsplit(result["fromMatcher"]).netloc == "localhost" and query["scope"] == [matcher["scope"]]
    assert parse_qs(urlsplit(result["ipv6"]).query)["redirect_uri"] == ["http://[::1]:9/fr/signed-in/"]
    assert result["hosted"] == "https://passerelle.example.net/oauth/client-metadata.json"
    assert result["unset"] is None


# -- client metadata ----------------------------------------------------------------------------


def test_client_metadata_follows_atprotos_rules(hosted_site: Path, config: Config) -> None:
    metadata = json.loads((hosted_site / "oauth" / "client-metadata.json").read_text(encoding="utf-8"))
    client_id = metadata["client_id"]
    assert client_id == f"{SITE_URL}oauth/client-metadata.json"
    # The schema and the discoverable client id rules of @atproto/oauth-types, run as they are.
    modules = installed_client(config) / "node_modules"
    script = f"""
    const types = await import({json.dumps((modules / "@atproto/oauth-types/dist/index.js").as_uri())});
    const metadata = {json.dumps(metadata)};
    types.assertOAuthDiscoverableClientId(metadata.client_id);
    const parsed = types.oauthClientMetadataSchema.parse(metadata);
    console.log(JSON.stringify(parsed));
    """
    parsed = json.loads(run_node(script, modules.parent))
    assert parsed["application_type"] == "web" and parsed["token_endpoint_auth_method"] == "none"
    # The authorization server's rules for a discoverable public web client (@atproto/oauth-provider).
    scopes = metadata["scope"].split(" ")
    assert "atproto" in scopes and len(scopes) == len(set(scopes))
    assert "repo:app.bsky.graph.follow?action=create" in scopes
    assert metadata["dpop_bound_access_tokens"] is True
    assert metadata["grant_types"] == ["authorization_code", "refresh_token"] and metadata["response_types"] == ["code"]
    assert client_id.startswith(metadata["client_uri"]) and metadata["client_uri"].endswith("/")
    for uri in metadata["redirect_uris"]:
        parts = urlsplit(uri)
        assert parts.scheme == "https" and parts.hostname == "passerelle.example.net" and not parts.query
    # Every language's callback page is a redirect URI, and every redirect URI is a built page.
    callbacks = {uri.removeprefix(SITE_URL) for uri in metadata["redirect_uris"]}
    assert callbacks == {f"{code}/{CALLBACK_PAGE}/" for code in languages(hosted_site)}
    matcher = page_config((hosted_site / "de" / "match" / "index.html").read_text(encoding="utf-8"))
    assert matcher["oauth"]["client_metadata"] == client_id


def test_no_client_metadata_without_an_https_site_url(built_site: Path, config: Config) -> None:
    assert config.site_url == ""
    assert not (built_site / "oauth").exists()
    matcher = page_config((built_site / "en" / "match" / "index.html").read_text(encoding="utf-8"))
    assert matcher["oauth"]["client_metadata"] == ""


@pytest.mark.parametrize(
    ("site_url", "expected"),
    [
        ("", None),
        ("https://passerelle.example.net", "https://passerelle.example.net/"),
        ("https://passerelle.example.net/a/b/", "https://passerelle.example.net/a/b/"),
        ("http://passerelle.example.net/", None),
        ("https://127.0.0.1/", None),
        ("https://[::1]/", None),
        ("https://localhost/", None),
        ("https://passerelle.test/", None),
        ("https://site.example/", None),
        ("https://passerelle.example.org/", "https://passerelle.example.org/"),
    ],
)
def test_site_base_names_an_atproto_client_only_over_https_with_a_domain(
    config: Config, site_url: str, expected: str | None
) -> None:
    from dataclasses import replace

    assert site_base(replace(config, site_url=site_url)) == expected


# -- configuration ------------------------------------------------------------------------------


def test_configured_loopback_servers_are_reachable_under_the_policy(hosted_site: Path) -> None:
    policy = (hosted_site / "_headers").read_text(encoding="utf-8")
    connect = re.search(r"connect-src ([^;\n]*)", policy).group(1).split()
    assert connect[:2] == ["'self'", "https:"]
    assert connect[2:] == ["http://127.0.0.1:4100", "http://localhost:4101", "http://127.0.0.1:4102", "http://[::1]:4103"]
    settings = page_config((hosted_site / "en" / "match" / "index.html").read_text(encoding="utf-8"))["settings"]
    assert settings["bluesky_handle_resolver"] == "http://127.0.0.1:4100"
    assert settings["plc_directory_url"] == "http://localhost:4101/"


def test_default_settings_reach_both_pages(built_site: Path) -> None:
    expected = {"bluesky_handle_resolver": "https://bsky.social", "plc_directory_url": "https://plc.directory"}
    matcher = page_config((built_site / "en" / "match" / "index.html").read_text(encoding="utf-8"))["settings"]
    callback = page_config((built_site / "en" / CALLBACK_PAGE / "index.html").read_text(encoding="utf-8"))["settings"]
    assert callback == expected and expected.items() <= matcher.items()


def with_extra(config: Config, **extra: object) -> Config:
    from dataclasses import replace

    return replace(config, extra={**config.extra, **extra})


@pytest.mark.parametrize(
    "origin",
    [
        "https://127.0.0.1:4000",
        "http://pds.example.net",
        "http://10.0.0.2:80",
        "http://127.0.0.1:4000/xrpc",
        "http://127.0.0.1:4000?x=1",
        "http://user@127.0.0.1:4000",
        "http://127.0.0.1:port",
        "http://127.0.0.1:4000; script-src *",
        "127.0.0.1:4000",
    ],
)
def test_extra_connect_origins_takes_plain_http_loopback_origins_only(config: Config, origin: str) -> None:
    with pytest.raises(BuildError, match="extra_connect_origins"):
        content_security_policy(with_extra(config, extra_connect_origins=[origin]))


def test_extra_connect_origins_must_be_a_list(config: Config) -> None:
    with pytest.raises(BuildError, match="must be a list"):
        extra_connect_origins(with_extra(config, extra_connect_origins="http://127.0.0.1:4000"))
    assert extra_connect_origins(with_extra(config, extra_connect_origins=["http://localhost:5"])) == [
        "http://localhost:5"
    ]


@pytest.mark.parametrize("collection", ["claim", "org.passerelle", "org.passerelle.x.9claim", "org..x.claim", 7])
def test_claim_collection_must_be_an_nsid(config: Config, collection: object) -> None:
    with pytest.raises(BuildError, match="claim_collection"):
        oauth_scope(with_extra(config, claim_collection=collection))


def test_scope_asks_for_follows_and_the_claim_record_only(config: Config) -> None:
    assert oauth_scope(with_extra(config, claim_collection="net.example.moved.xClaim")) == (
        "atproto repo:app.bsky.graph.follow?action=create repo:net.example.moved.xClaim"
    )


# -- the callback page --------------------------------------------------------------------------


def test_callback_page_has_no_inline_script_and_carries_its_config(built_site: Path) -> None:
    codes = languages(built_site)
    assert len(codes) >= 2
    for code in codes:
        html = (built_site / code / CALLBACK_PAGE / "index.html").read_text(encoding="utf-8")
        for attributes, body in SCRIPT_TAG.findall(html):
            assert ("src=" in attributes and not body.strip()) or 'type="application/json"' in attributes
        assert "pyodide" not in html.lower() and "matcher" not in html
        oauth = page_config(html)["oauth"]
        folder = built_site / code / CALLBACK_PAGE
        assert (folder / oauth["bundle"]).resolve() == bundle_path(built_site).resolve()
        assert oauth["callback"] == "./"
        matcher = page_config((built_site / code / "match" / "index.html").read_text(encoding="utf-8"))["oauth"]
        assert (built_site / code / "match" / matcher["callback"]).resolve() == folder.resolve()
        assert {k: v for k, v in matcher.items() if k not in ("bundle", "callback")} == {
            k: v for k, v in oauth.items() if k not in ("bundle", "callback")
        }


def test_callback_page_is_not_in_the_navigation_or_the_sitemap(built_site: Path) -> None:
    pages = list(built_site.glob("*/**/index.html"))
    assert len(pages) > 20
    for page in pages:
        (nav,) = re.findall(r'<nav class="wrap site-nav".*?</nav>', page.read_text(encoding="utf-8"), re.S)
        assert "href=" in nav and CALLBACK_PAGE not in nav, page
    assert CALLBACK_PAGE not in (built_site / "sitemap.xml").read_text(encoding="utf-8")


# -- the callback page in a browser ---------------------------------------------------------------

def watch_popups(page: Page, page_log: PageLog) -> None:
    """Console errors and uncaught exceptions of every page of the context fail the test too."""
    page.context.on("console", lambda message: message.type == "error" and page_log.errors.append(message.text))
    page.context.on("weberror", lambda error: page_log.errors.append(str(error.error)))
    page.context.on("request", lambda request: page_log.requests.append(request.url))


# The page's policy forbids eval, which wait_for_function needs: the tests await promises instead.
# Like the matcher page, the listener says it has the answer; the window sends it again until then.
LISTEN = """() => {
  window.received = [];
  const channel = new BroadcastChannel('passerelle-signin');
  window.firstMessage = new Promise((resolve, reject) => {
    channel.onmessage = (event) => {
      window.received.push(event.data);
      channel.postMessage({ type: 'signin-received', state: event.data.state });
      resolve();
    };
    setTimeout(() => reject(new Error('no message on the channel')), 15000);
  });
}"""
POPUP_CLOSED = """() => new Promise((resolve, reject) => {
  const timer = setInterval(() => { if (window.popup.closed) { clearInterval(timer); resolve(); } }, 20);
  setTimeout(() => reject(new Error('the window stayed open')), 15000);
})"""


def test_mastodon_answer_is_passed_to_the_opener_and_the_window_closes(
    page: Page, page_log: PageLog, site_url: str
) -> None:
    watch_popups(page, page_log)
    page.goto(f"{site_url}fr/faq/")
    page.evaluate(LISTEN)
    with page.expect_popup():
        page.evaluate(f"window.popup = window.open({json.dumps(f'{site_url}fr/{CALLBACK_PAGE}/?code=x&state=y')})")
    page.evaluate("() => window.firstMessage")
    assert page.evaluate("window.received") == [{"type": "mastodon-callback", "code": "x", "state": "y", "error": None}]
    page.evaluate(POPUP_CLOSED)
    popup_requests = [url for url in page_log.requests if CALLBACK_PAGE in url or "signed-in.js" in url]
    assert popup_requests and not any("atproto-oauth" in url for url in page_log.requests)


def test_a_refused_mastodon_sign_in_is_passed_on_too(page: Page, page_log: PageLog, site_url: str) -> None:
    watch_popups(page, page_log)
    page.goto(f"{site_url}en/")
    page.evaluate(LISTEN)
    callback = f"{site_url}en/{CALLBACK_PAGE}/?error=access_denied&state=s"
    with page.expect_popup():
        page.evaluate(f"window.popup = window.open({json.dumps(callback)})")
    page.evaluate(POPUP_CLOSED)
    page.evaluate("() => window.firstMessage")
    assert page.evaluate("window.received") == [
        {"type": "mastodon-callback", "code": None, "state": "s", "error": "access_denied"}
    ]


def test_a_bluesky_answer_without_a_pending_sign_in_says_so(page: Page, page_log: PageLog, site_url: str) -> None:
    """The bundle loads under the site's policy and the client reads the answer, offline: with no
    sign-in started in this browser, the page shows the translated failure, without a console error."""
    page.goto(f"{site_url}en/{CALLBACK_PAGE}/#state=unknown&iss=http%3A%2F%2F127.0.0.1%3A9&code=abc")
    error = page.get_by_test_id("signin-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Signing in did not work")
    assert page.url.endswith(f"{CALLBACK_PAGE}/"), "the answer is removed from the address"
    assert any(re.search(r"/assets/app/atproto-oauth-[0-9a-f]{10}\.mjs$", url) for url in page_log.requests)
    assert not any("pyodide" in url or "matcher" in url for url in page_log.requests)


def test_the_page_says_when_there_is_nothing_to_finish(page: Page, page_log: PageLog, site_url: str) -> None:
    page.goto(f"{site_url}en/{CALLBACK_PAGE}/")
    expect(page.get_by_test_id("signin-error")).to_contain_text("There is no sign-in to finish here")
    assert not any("atproto-oauth" in url for url in page_log.requests)


# -- installing and bundling ----------------------------------------------------------------------


def test_without_npm_the_build_says_what_to_install(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSERELLE_CACHE", str(tmp_path))
    monkeypatch.setattr("sitebuild.oauth_client.shutil.which", lambda name: None)
    with pytest.raises(BuildError, match="npm is needed to install the atproto OAuth client"):
        bundle_client(config)
    assert not (tmp_path / "oauth-client" / pins_digest()).exists()


def test_an_installed_and_bundled_client_is_reused_without_npm_or_node(
    config: Config, built_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's build installed and bundled it; a second build needs neither tool."""
    monkeypatch.setattr("sitebuild.oauth_client.shutil.which", lambda name: None)
    bundle = bundle_client(config)
    assert bundle.data == bundle_path(built_site).read_bytes()
    assert f"assets/app/{bundle_path(built_site).name}" == bundle.name
    assert set(REQUIRED_EXPORTS) <= set(bundle.exports)
