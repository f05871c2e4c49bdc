"""A volunteer's PO file, or the guide's Markdown, must never become markup or script."""

from __future__ import annotations

import html.parser
import shutil
from pathlib import Path

import pytest
from markupsafe import Markup

from sitebuild.config import Config, load_config
from sitebuild.errors import BuildError
from sitebuild.guide import link_targets, render_markdown
from sitebuild.languages import Translator
from sitebuild.render import EscapedTranslations, build_site
from tests.conftest import ROOT

ATTRIBUTE_ATTACK = 'Guide" autofocus onfocus="alert(document.domain)" x="'


class Elements(html.parser.HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(text)
    return parser.found


def hostile_site(tmp_path: Path, msgid: str, msgstr: str) -> Config:
    """The real site with its French catalog's translation of ``msgid`` replaced by ``msgstr``."""
    locales = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", locales)
    po = locales / "fr" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    start = text.index(f'\nmsgid "{msgid}"\n')
    end = text.index("\n\n", start + 1)
    escaped = msgstr.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    po.write_text(text[:start] + f'\nmsgid "{msgid}"\nmsgstr "{escaped}"' + text[end:], encoding="utf-8")
    override = tmp_path / "site.toml"
    override.write_text(f'locales_dir = "{locales.as_posix()}"\n', encoding="utf-8")
    return load_config(ROOT, override)


def test_a_translation_cannot_leave_its_attribute(tmp_path: Path) -> None:
    config = hostile_site(tmp_path, "Guide", ATTRIBUTE_ATTACK)
    build_site(config, tmp_path / "out")
    for page in ("fr/index.html", "fr/match/index.html"):
        found = elements((tmp_path / "out" / page).read_text(encoding="utf-8"))
        assert not any("onfocus" in attributes or "autofocus" in attributes for _tag, attributes in found)
        labels = [a["aria-label"] for tag, a in found if tag == "nav" and "aria-label" in a]
        assert ATTRIBUTE_ATTACK in labels  # shown as the text it is


@pytest.mark.parametrize(
    ("msgid", "msgstr"),
    [
        ("Guide", "<img src=x onerror=alert(1)>"),  # a template's text
        ("Request your X archive", "Demandez <script>alert(1)</script>"),  # a guide heading
        ("Request your X archive", "[clic][1]\n\n[1]: javascript:alert(1)"),  # a new block by a line break
    ],
)
def test_the_build_refuses_a_hostile_catalog_naming_file_and_line(tmp_path: Path, msgid: str, msgstr: str) -> None:
    config = hostile_site(tmp_path, msgid, msgstr)
    with pytest.raises(BuildError, match=r"messages\.po:\d+: "):
        build_site(config, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_escaped_translations_are_text_even_when_the_check_is_bypassed() -> None:
    translations = EscapedTranslations(Translator())
    assert translations.gettext('<b>"x"</b>') == Markup("&lt;b&gt;&#34;x&#34;&lt;/b&gt;")
    assert translations.ngettext("<i>1</i>", "<i>n</i>", 2) == Markup("&lt;i&gt;n&lt;/i&gt;")


def resolve(target: str) -> str:
    return "RESOLVED"


@pytest.mark.parametrize(
    "source",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        '<div onclick="alert(1)">click</div>',
        "text <b onmouseover=alert(1)>bold</b>",
        "<!-- a comment -->",
    ],
)
def test_guide_markdown_shows_raw_html_as_text(source: str) -> None:
    rendered = render_markdown(source, resolve)
    assert all(tag in ("p",) for tag, _attributes in elements(rendered))


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](http://tracker.example/)",
        "[x](vbscript:msgbox)",
        "[x](//evil.example/)",
        "![x](https://tracker.example/pixel.gif)",
        "![x](javascript:alert(1))",
    ],
)
def test_guide_links_outside_the_allowed_schemes_fail_the_build(source: str) -> None:
    with pytest.raises(BuildError, match="not allowed"):
        render_markdown(source, resolve)


def test_guide_links_inside_the_allowed_schemes_are_kept() -> None:
    rendered = render_markdown(
        "[a](page:faq) [b](https://x.com/settings) [c](mailto:hello@passerelle.org) [d](#top) ![e](asset:a.svg)",
        resolve,
    )
    hrefs = [a.get("href") or a.get("src") for _tag, a in elements(rendered) if "href" in a or "src" in a]
    assert hrefs == ["RESOLVED", "https://x.com/settings", "mailto:hello@passerelle.org", "#top", "RESOLVED"]


def test_link_targets_see_reference_style_links() -> None:
    assert link_targets("[x][1]\n\n[1]: javascript:alert(1)") == ("href=javascript:alert(1)",)
    assert link_targets("no links here") == ()
