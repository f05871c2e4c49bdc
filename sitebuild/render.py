"""Building the site in two phases: read every source, then write ``_site/``."""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast
from xml.sax.saxutils import escape, quoteattr

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from markupsafe import Markup
from markupsafe import escape as escape_html

from pyscript_app.follow import FollowSettings
from pyscript_app.matching import Settings

from .catalogs import po_path, python_msgids, remembered_checked_catalog, shipped_languages, shown_path
from .compress import precompress_site
from .config import Config
from .demo_networks import APPVIEW, AVATAR_ORIGIN, DEMO_AVATARS, DEMO_NETWORKS
from .errors import BuildError
from .guide import PICTURE, GuidePage, load_page, render_markdown
from .languages import Language, Translator
from .oauth_client import (
    CALLBACK_PAGE,
    METADATA_PATH,
    OAuthBundle,
    bundle_client,
    claim_collection,
    client_metadata,
    client_metadata_url,
    oauth_scope,
)
from .runtime import DEMO_ARCHIVE, DEMO_DIRECTORY, RuntimeAssets, cache_dir, prepare_runtime, write_runtime
from .security import content_security_policy, headers_file

log = logging.getLogger("passerelle.build")

MARKER = ".passerelle-site"
ASSETS = "assets"


@dataclass(frozen=True)
class Sources:
    """Everything read in the first phase."""

    languages: tuple[Language, ...]
    translators: dict[str, Translator]
    pages: dict[str, GuidePage]
    asset_versions: dict[str, str]
    runtime: RuntimeAssets | None
    app_msgids: tuple[str, ...]
    oauth: OAuthBundle | None = None


class EscapedTranslations:
    """What Jinja's i18n extension calls: every translation escaped as text.

    With ``newstyle`` gettext, Jinja marks a translation as safe HTML; a volunteer's PO file must
    never become markup or script, so the translation is escaped before Jinja sees it.
    """

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def gettext(self, message: str) -> Markup:
        return escape_html(self.translator.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> Markup:
        return escape_html(self.translator.ngettext(singular, plural, n))

    def pgettext(self, context: str, message: str) -> Markup:
        return self.gettext(message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> Markup:
        return self.ngettext(singular, plural, n)


class _I18nEnvironment(Protocol):
    """What Jinja's i18n extension adds to an environment at run time (its annotations do not say so)."""

    def install_gettext_translations(self, translations: EscapedTranslations, newstyle: bool | None = None) -> None: ...


def install_translations(env: Environment, translations: EscapedTranslations) -> None:
    """Make ``translations`` the gettext of the environment's templates (new-style gettext)."""
    cast(_I18nEnvironment, env).install_gettext_translations(translations, newstyle=True)


class PageUrl(Protocol):
    """A page's address relative to the page being written, with an optional ``#anchor``."""

    def __call__(self, key: str, anchor: str = "") -> str: ...


AssetUrl = Callable[[str], str]
Gettext = Callable[[str], str]


def read_translators(config: Config) -> dict[str, Translator]:
    """Every language's catalog, each read once and checked by the rules of ``i18n check``: a
    catalog that breaks one stops the build, naming its file and line."""
    translators = {config.source_language: Translator()}
    problems = []
    for code in shipped_languages(config):
        path = po_path(config, code)
        checks = cache_dir(config) / "catalogs"
        catalog, found = remembered_checked_catalog(path, shown_path(config, path), code, checks)
        problems += found
        if catalog is not None and code != config.source_language:
            translators[code] = Translator(catalog)
    if problems:
        listed = "\n".join(str(problem) for problem in problems[:50])
        more = f"\n… and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise BuildError(f"{len(problems)} translation problem(s); fix them, then build again:\n{listed}{more}")
    return translators


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool = False


def page_path(language: Language, key: str, home: str) -> str:
    """The output folder of a page, relative to the site root, with a trailing slash."""
    return f"{language.slug}/" if key == home else f"{language.slug}/{key}/"


def relative_url(from_folder: str, to_path: str) -> str:
    """A relative URL from one output folder to a folder (ending in '/') or file."""
    target = posixpath.relpath(to_path or ".", from_folder or ".")
    if to_path.endswith("/") or not to_path:
        return "./" if target == "." else target + "/"
    return target


def _asset_versions(static_dir: Path) -> dict[str, str]:
    versions = {}
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            versions[path.relative_to(static_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return versions


def read_sources(config: Config) -> Sources:
    """Phase one: languages, catalogs, guide pages and static assets."""
    codes = [config.source_language] + [c for c in shipped_languages(config) if c != config.source_language]
    translators = read_translators(config)
    languages = tuple(Language.from_code(code) for code in codes)
    pages = {}
    for key in config.guide:
        path = config.content_dir / f"{key}.md"
        if not path.exists():
            raise BuildError(f"{path}: missing: the configuration's guide lists the page '{key}'")
        pages[key] = load_page(path)
    for key in config.apps:
        if not (config.templates_dir / f"{key}.html").exists():
            raise BuildError(f"{config.templates_dir / key}.html: missing template for the app page '{key}'")
    runtime = prepare_runtime(config)
    if runtime is not None and not (config.templates_dir / f"{CALLBACK_PAGE}.html").exists():
        raise BuildError(f"{config.templates_dir / CALLBACK_PAGE}.html: missing template for the sign-in callback page")
    return Sources(
        languages,
        translators,
        pages,
        _asset_versions(config.static_dir),
        runtime,
        python_msgids(config),
        # The app pages sign in to Bluesky with the bundled atproto OAuth client.
        bundle_client(config) if runtime is not None else None,
    )


class SiteWriter:
    """Phase two: render every page of every language, the language chooser and the sitemap."""

    def __init__(self, config: Config, sources: Sources, out: Path) -> None:
        self.config = config
        self.sources = sources
        self.out = out
        self.home = config.guide[0]
        self.env = Environment(
            loader=FileSystemLoader(config.templates_dir),
            autoescape=True,
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            keep_trailing_newline=True,
        )
        self.env.policies["ext.i18n.trimmed"] = True
        self.fallbacks: dict[str, set[str]] = {language.code: set() for language in sources.languages}
        self.steps = sorted((p.step, key) for key, p in sources.pages.items() if p.step is not None)
        self.csp = content_security_policy(config, for_meta=True)
        self.oauth_client_id = client_metadata_url(config) if sources.oauth is not None else ""
        self.oauth_scope = oauth_scope(config) if sources.oauth is not None else ""

    # -- URLs ---------------------------------------------------------------------------------

    def url_maker(self, language: Language, folder: str) -> tuple[PageUrl, AssetUrl]:
        def url(key: str, anchor: str = "") -> str:
            if key not in self.config.pages:
                raise BuildError(f"link to unknown page '{key}' (known: {', '.join(self.config.pages)})")
            return relative_url(folder, page_path(language, key, self.home)) + anchor

        def asset(name: str) -> str:
            if name not in self.sources.asset_versions:
                raise BuildError(f"link to unknown asset '{name}' (not in {self.config.static_dir})")
            return f"{relative_url(folder, f'{ASSETS}/{name}')}?v={self.sources.asset_versions[name]}"

        return url, asset

    def _resolver(self, url: PageUrl, asset: AssetUrl) -> Callable[[str], str]:
        def resolve(target: str) -> str:
            scheme, _, rest = target.partition(":")
            if scheme == "page":
                key, hash_, anchor = rest.partition("#")
                return url(key, hash_ + anchor)
            if scheme == "picture":
                return target  # drawn in place by _with_pictures
            return asset(rest)

        return resolve

    # -- pages --------------------------------------------------------------------------------

    def _with_pictures(self, html: str, language: Language) -> str:
        """Each ``![caption](picture:NAME)`` paragraph becomes that drawing, its words translated
        (gettext is installed for ``language``) and mirrored in a right-to-left language."""

        def draw(found: re.Match[str]) -> str:
            name = found["name"]
            try:
                template = self.env.get_template(f"pictures/{name}.html")
            except TemplateNotFound:
                raise BuildError(f"unknown picture '{name}' (no site/templates/pictures/{name}.html)") from None
            caption_id = f"picture-{name}"
            drawing = template.render(rtl=language.direction == "rtl", caption_id=caption_id)
            return (
                f'<figure class="picture" data-testid="picture" data-picture="{name}">{drawing}'
                f'<figcaption id="{caption_id}">{found["caption"]}</figcaption></figure>'
            )

        drawn = PICTURE.sub(draw, html)
        if 'src="picture:' in drawn:
            raise BuildError("a picture must be alone in its paragraph: ![caption](picture:NAME)")
        return drawn

    def _title(self, key: str, gettext: Gettext) -> str:
        page = self.sources.pages.get(key)
        if page is None:
            return gettext("Find your contacts") if key == "match" else key
        meta = page.meta.get("nav_title") or page.meta["title"]
        return gettext(meta.text)

    def _context(self, language: Language, key: str, folder: str, translator: Translator) -> dict[str, Any]:
        url, asset = self.url_maker(language, folder)
        gettext = translator.gettext
        page = self.sources.pages.get(key)
        body = ""
        meta: dict[str, str] = {}
        if page is not None:
            resolve = self._resolver(url, asset)
            try:
                body = Markup(self._with_pictures(render_markdown(page.translated_body(gettext), resolve), language))
            except BuildError as error:
                raise BuildError(f"{page.path} ({language.code}): {error}") from None
            meta = {name: gettext(message.text) for name, message in page.meta.items()}
        guide = self.config.guide
        index = guide.index(key) if key in guide else None

        def neighbour(i: int) -> Link | None:
            return Link(self._title(guide[i], gettext), url(guide[i])) if 0 <= i < len(guide) else None

        return {
            "lang": language,
            "languages": self.sources.languages,
            "key": key,
            "title": meta.get("title", self._title(key, gettext)),
            "description": meta.get("description", ""),
            "content": body,
            "step": page.step if page else None,
            "step_count": len(self.steps),
            "nav": [Link(self._title(k, gettext), url(k), k == key) for k in guide[1:]],
            "home_url": url(self.home),
            "previous": neighbour(index - 1) if index is not None else None,
            "next": neighbour(index + 1) if index is not None else None,
            "alternates": [
                (other, relative_url(folder, page_path(other, key, self.home))) for other in self.sources.languages
            ],
            "chooser_url": relative_url(folder, ""),
            "url": url,
            "asset": asset,
            "site_name": self.config.site_name,
            "config": self.config.extra,
            "runtime": self._runtime_context(folder, gettext) if key in self.config.apps else None,
            "oauth": self._oauth_context(language, folder),
            "follow_settings": self._follow_settings(),
            "js_text": gettext,
            "csp": self.csp,
            "incomplete": False,
        }

    def _runtime_context(self, folder: str, gettext: Gettext) -> dict[str, Any]:
        """Where an app page finds Pyodide and the app, and the translations of the app's messages."""
        runtime = self.sources.runtime
        extra = self.config.extra

        def site_relative(url: str) -> str:
            return url if "://" in url else relative_url(folder, url)

        return {
            "pyodide": relative_url(folder, runtime.pyodide_folder) if runtime else "",
            "app": relative_url(folder, runtime.app_zip) if runtime else "",
            "files": self._runtime_files(runtime),
            "messages": {msgid: gettext(msgid) for msgid in self.sources.app_msgids},
            "settings": {
                "bluesky_appview": str(extra.get("bluesky_appview", Settings.bluesky_appview)),
                "directories": [site_relative(str(d)) for d in extra.get("directories", [])],
                "mastodon_instance_urls": dict(extra.get("mastodon_instance_urls", {})),
                **self._follow_settings(),
            },
            "demo": {
                "archive": relative_url(folder, DEMO_ARCHIVE) if runtime and runtime.demo_archive else "",
                "directory": relative_url(folder, DEMO_DIRECTORY) if runtime and runtime.demo_claims else "",
                **self._demo_networks(runtime, folder),
            },
        }

    @staticmethod
    def _demo_networks(runtime: RuntimeAssets | None, folder: str) -> dict[str, str]:
        """Where the sample's recorded networks are (see sitebuild/demo_networks.py); {} without them."""
        if not (runtime and runtime.replayed_networks):
            return {}
        return {
            "networks": relative_url(folder, DEMO_NETWORKS),
            "avatars": relative_url(folder, DEMO_AVATARS),
            "avatarOrigin": AVATAR_ORIGIN,
            "appview": APPVIEW,
        }

    def _follow_settings(self) -> dict[str, str]:
        """Where the sign-in resolves a Bluesky handle and reads DID documents."""
        settings = FollowSettings.from_json(self.config.extra)
        return {
            "bluesky_handle_resolver": settings.bluesky_handle_resolver,
            "plc_directory_url": settings.plc_directory_url,
        }

    def _oauth_context(self, language: Language, folder: str) -> dict[str, str] | None:
        """What a page needs to sign in to Bluesky (see sitebuild/oauth/entry.mjs): the bundle,
        the published client id ("" without an https site_url), the scope and the callback page,
        each address relative to the page; None when the site has no app page."""
        bundle = self.sources.oauth
        if bundle is None:
            return None
        return {
            "bundle": relative_url(folder, bundle.name),
            "client_metadata": self.oauth_client_id,
            "scope": self.oauth_scope,
            "callback": relative_url(folder, page_path(language, CALLBACK_PAGE, self.home)),
            "claim_collection": claim_collection(self.config),
        }

    @staticmethod
    def _runtime_files(runtime: RuntimeAssets | None) -> dict[str, Any]:
        """What the worker needs to start Pyodide from verified bytes (see matcher-worker.js)."""
        if runtime is None:
            return {}
        return {
            "stdlib": runtime.stdlib,
            "integrity": {
                ("app" if name == runtime.app_zip else name): value for name, value in runtime.integrity.items()
            },
            "lock": {"info": runtime.lock_info, "packages": {}},
        }

    def render_page(self, language: Language, key: str) -> str:
        """One page; rendered again with the notice when a message fell back to the source."""
        translator = self.sources.translators[language.code]
        translator.missing.clear()
        install_translations(self.env, EscapedTranslations(translator))
        folder = page_path(language, key, self.home)
        template = self.env.get_template("page.html" if key in self.sources.pages else f"{key}.html")
        context = self._context(language, key, folder, translator)
        html = template.render(context)
        if translator.missing:
            self.fallbacks[language.code] |= translator.missing
            html = template.render({**context, "incomplete": True})
        return html

    def render_chooser(self) -> str:
        """The root ``index.html``: every language, each with the home page's title in itself."""
        tagline = self.sources.pages[self.home].meta["title"].text
        entries = []
        for language in self.sources.languages:
            translator = self.sources.translators[language.code]
            entries.append((language, translator.gettext(tagline), f"{language.slug}/"))
        source = self.sources.translators[self.config.source_language]
        install_translations(self.env, EscapedTranslations(source))
        return self.env.get_template("chooser.html").render(
            entries=entries,
            csp=self.csp,
            languages=self.sources.languages,
            asset=self.url_maker(self.sources.languages[0], "")[1],
            site_name=self.config.site_name,
            config=self.config.extra,
        )

    def render_sitemap(self) -> str:
        base = self.config.site_url.rstrip("/") + "/" if self.config.site_url else ""
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">',
        ]
        for key in self.config.pages:
            for language in self.sources.languages:
                lines.append(f"  <url><loc>{escape(base + page_path(language, key, self.home))}</loc>")
                for other in self.sources.languages:
                    href = quoteattr(base + page_path(other, key, self.home))
                    lines.append(f'    <xhtml:link rel="alternate" hreflang="{other.tag}" href={href}/>')
                lines.append("  </url>")
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    def write(self) -> list[Path]:
        written = []

        def emit(relative: str, text: str) -> None:
            path = self.out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)

        try:
            for language in self.sources.languages:
                for key in self.config.pages:
                    emit(page_path(language, key, self.home) + "index.html", self.render_page(language, key))
            if self.sources.oauth is not None:
                for language in self.sources.languages:
                    callback = page_path(language, CALLBACK_PAGE, self.home)
                    emit(callback + "index.html", self.render_page(language, CALLBACK_PAGE))
            emit("index.html", self.render_chooser())
        except TemplateError as error:
            raise BuildError(f"template error: {error}") from None
        emit("sitemap.xml", self.render_sitemap())
        emit("_headers", headers_file(self.config))
        shutil.copytree(self.config.static_dir, self.out / ASSETS, dirs_exist_ok=True)
        if self.sources.runtime is not None:
            write_runtime(self.sources.runtime, self.out)
        if self.sources.oauth is not None:
            self.write_oauth(self.sources.oauth)
        precompress_site(self.out, cache_dir(self.config) / "compressed")
        return written

    def write_oauth(self, bundle: OAuthBundle) -> None:
        """The bundled OAuth client, and the client metadata when site_url allows one."""
        (self.out / bundle.name).parent.mkdir(parents=True, exist_ok=True)
        (self.out / bundle.name).write_bytes(bundle.data)
        callbacks = [page_path(language, CALLBACK_PAGE, self.home) for language in self.sources.languages]
        metadata = client_metadata(self.config, callbacks)
        if metadata is not None:
            (self.out / METADATA_PATH).parent.mkdir(parents=True, exist_ok=True)
            (self.out / METADATA_PATH).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")


def prepare_output(out: Path) -> None:
    """Empty the output folder, refusing to touch a non-empty folder this build did not make."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise BuildError(f"{out}: not empty and not made by this build: refusing to overwrite it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("Built by Passerelle's build.py; emptied at every build.\n", encoding="utf-8")


def warn_incomplete(config: Config, fallbacks: dict[str, set[str]]) -> None:
    """Say, language by language, how many messages fell back to the source text (MkDocs-style)."""
    for code, missing in fallbacks.items():
        if missing:
            log.warning(
                "%s: %d message(s) not translated; shown in %s instead: see 'python build.py i18n status'",
                code,
                len(missing),
                config.source_language,
            )


def build_site(config: Config, out: Path) -> list[Path]:
    """Build the whole site into ``out`` and return the pages written."""
    sources = read_sources(config)
    prepare_output(out)
    writer = SiteWriter(config, sources, out)
    written = writer.write()
    warn_incomplete(config, writer.fallbacks)
    return written
