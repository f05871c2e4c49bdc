"""The build: golden output of the sample site, the real site's layout, and clear errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitebuild.config import Config, load_config
from sitebuild.errors import BuildError
from sitebuild.oauth_client import CALLBACK_PAGE
from sitebuild.render import build_site, relative_url

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "sample_site"
GOLDEN = Path(__file__).parent / "golden" / "sample_site"


def tree(folder: Path) -> dict[str, bytes]:
    """The built files, without the compressed copies (tests/test_runtime_cache.py checks those)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix not in (".br", ".gz")
    }


def build_sample(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    build_site(load_config(ROOT, SAMPLE / "passerelle.toml"), out)
    return out


def test_sample_site_matches_the_golden_tree(tmp_path: Path) -> None:
    """Set PASSERELLE_UPDATE_GOLDEN=1 to accept a deliberate change of output."""
    out = build_sample(tmp_path)
    if os.environ.get("PASSERELLE_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN, ignore=shutil.ignore_patterns("*.br", "*.gz"))
    built, golden = tree(out), tree(GOLDEN)
    assert sorted(built) == sorted(golden)
    for name in built:
        assert built[name].decode() == golden[name].decode(), name


def test_sample_french_page_falls_back_message_by_message(tmp_path: Path) -> None:
    out = build_sample(tmp_path)
    steps = (out / "fr" / "steps" / "index.html").read_text()
    assert "Attendez le courriel, puis téléchargez-la." in steps
    assert "This sentence stays untranslated in French." in steps
    assert "<th>Holds</th>" in steps  # fuzzy: shown in English
    assert '<p class="notice">' in steps
    assert '<p class="notice">' not in (out / "fr" / "tool" / "index.html").read_text()
    assert '<p class="notice">' not in (out / "en" / "steps" / "index.html").read_text()


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("fr/faq/", "fr/", "../"),
        ("fr/faq/", "de/faq/", "../../de/faq/"),
        ("fr/", "fr/", "./"),
        ("fr/", "assets/style.css", "../assets/style.css"),
        ("", "fr/", "fr/"),
        ("fr/faq/", "", "../../"),
    ],
)
def test_relative_urls(source: str, target: str, expected: str) -> None:
    assert relative_url(source, target) == expected


def language_folders(site: Path) -> list[str]:
    return sorted(p.name for p in site.iterdir() if (p / "index.html").is_file())


def test_every_language_has_the_same_page_tree(built_site: Path, config: Config) -> None:
    languages = language_folders(built_site)
    assert {"en", "fr", "de", "es", "it", "pt", "nl", "ar"} <= set(languages)
    trees = {
        lang: sorted(p.relative_to(built_site / lang).as_posix() for p in (built_site / lang).rglob("*.html"))
        for lang in languages
    }
    assert all(t == trees["en"] for t in trees.values())
    # Every page of the configuration, and the sign-in callback page (sitebuild/oauth_client.py).
    assert len(trees["en"]) == len(config.pages) + 1 and f"{CALLBACK_PAGE}/index.html" in trees["en"]
    assert (built_site / "en" / "match" / "index.html").exists()


def test_pages_declare_language_direction_and_alternates(built_site: Path) -> None:
    arabic = (built_site / "ar" / "faq" / "index.html").read_text()
    assert '<html lang="ar" dir="rtl">' in arabic
    french = (built_site / "fr" / "faq" / "index.html").read_text()
    assert '<html lang="fr" dir="ltr">' in french
    alternates = re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)"', french)
    assert ("de", "../../de/faq/") in alternates
    assert ("x-default", "../../") in alternates
    switcher = re.findall(r'data-testid="lang-([a-z-]+)"', french)
    assert len(switcher) == len(alternates) - 1 == len(language_folders(built_site))


def test_no_page_loads_anything_from_another_origin(built_site: Path) -> None:
    for page in built_site.rglob("*.html"):
        html = page.read_text()
        loaded = re.findall(r'<(?:script|link|img|iframe|source)\b[^>]*?(?:src|href)="([^"]+)"', html)
        external = [u for u in loaded if re.match(r"^(?:[a-z]+:)?//", u)]
        assert not external, f"{page}: {external}"
    for stylesheet in built_site.rglob("*.css"):
        assert "@import" not in stylesheet.read_text() and "url(http" not in stylesheet.read_text()


def test_sitemap_lists_every_page_of_every_language(built_site: Path, config: Config) -> None:
    sitemap = (built_site / "sitemap.xml").read_text()
    assert sitemap.count("<url>") == len(config.pages) * len(language_folders(built_site))


def test_chooser_lists_every_language_in_itself(built_site: Path) -> None:
    chooser = (built_site / "index.html").read_text()
    assert 'href="ar/"' in chooser and "العربية" in chooser and 'dir="rtl"' in chooser
    assert 'href="fr/"' in chooser and "Français" in chooser


def test_the_build_refuses_to_empty_a_folder_it_did_not_make(tmp_path: Path, config: Config) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(BuildError, match="refusing to overwrite"):
        build_site(config, tmp_path)
    assert (tmp_path / "precious.txt").exists()


def run_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], capture_output=True, text=True, cwd=ROOT)


def copy_sample(tmp_path: Path) -> Path:
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE, copy)
    return copy


def test_broken_front_matter_gives_one_clear_line(tmp_path: Path) -> None:
    copy = copy_sample(tmp_path)
    (copy / "content" / "steps.md").write_text("---\ntitle The steps\n---\nText.\n", encoding="utf-8")
    result = run_build("--config", str(copy / "passerelle.toml"), "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "steps.md:2: front matter line must read 'key: value'" in result.stderr


def test_a_po_syntax_error_stops_the_build_with_one_clear_line(tmp_path: Path) -> None:
    copy = copy_sample(tmp_path)
    po = copy / "locales" / "fr" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8") + '\nmsgid "x"\nnonsense\n', encoding="utf-8")
    result = run_build("--config", str(copy / "passerelle.toml"), "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "messages.po" in result.stderr


def test_an_unknown_language_code_gives_one_clear_line(tmp_path: Path) -> None:
    copy = copy_sample(tmp_path)
    result = run_build("--config", str(copy / "passerelle.toml"), "i18n", "init", "klingon")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unknown language code 'klingon'" in result.stderr
    (copy / "locales" / "fr").rename(copy / "locales" / "xx")
    result = run_build("--config", str(copy / "passerelle.toml"), "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "unknown language code 'xx'" in result.stderr


def test_a_new_language_needs_no_code_change(tmp_path: Path) -> None:
    copy = copy_sample(tmp_path)
    config = copy / "passerelle.toml"
    assert run_build("--config", str(config), "i18n", "init", "pl").returncode == 0
    result = run_build("--config", str(config), "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    polish = (tmp_path / "out" / "pl" / "index.html").read_text()
    assert '<html lang="pl" dir="ltr">' in polish and '<p class="notice">' in polish
    assert "Polski" in (tmp_path / "out" / "index.html").read_text()
    assert re.search(r"pl: \d+ message\(s\) not translated", result.stderr)


def test_check_command_fails_on_a_bad_catalog(tmp_path: Path) -> None:
    copy = copy_sample(tmp_path)
    po = copy / "locales" / "fr" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8").replace("gardez `data/following.js`", "gardez `data/follower.js`")
    po.write_text(text, encoding="utf-8")
    result = run_build("--config", str(copy / "passerelle.toml"), "i18n", "check")
    assert result.returncode == 1
    assert re.search(r"locales/fr/LC_MESSAGES/messages.po:63: inline code spans differ", result.stdout)
