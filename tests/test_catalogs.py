"""Catalog functions: extraction, init, status, fallback and the check rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from sitebuild.catalogs import (
    catalog_status,
    check_catalog_file,
    extract_catalog,
    init_catalog,
    message_problems,
    read_catalog,
    write_catalog,
)
from sitebuild.config import Config, load_config
from sitebuild.errors import BuildError
from sitebuild.languages import Language, Translator

SAMPLE = Path(__file__).parent / "sample_site"


@pytest.fixture
def sample(tmp_path: Path) -> Config:
    """A writable copy of the sample site."""
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE, copy)
    return load_config(Path(__file__).parent.parent, copy / "passerelle.toml")


def test_committed_template_matches_the_sources(config: Config) -> None:
    """messages.pot holds exactly the strings of templates, guide and app: run 'i18n extract' if not."""
    committed = read_catalog(config.pot_path)
    fresh = extract_catalog(config)
    assert sorted(m.id for m in committed if m.id) == sorted(m.id for m in fresh if m.id)


def test_extraction_covers_templates_guide_and_front_matter(sample: Config) -> None:
    catalog = extract_catalog(sample)
    ids = {m.id for m in catalog if m.id}
    assert {"Step %(step)s of %(count)s", "The tool", "Welcome", "A sample home page.", "Steps"} <= ids
    assert "Wait for the email, then download it." in ids
    assert "A small bridge" in ids  # image alt text
    assert not any("python build.py build" in i for i in ids)  # code blocks stay out
    assert catalog["Welcome"].locations == [("content/home.md", 2)]


def test_init_creates_a_catalog_with_every_message(sample: Config) -> None:
    path = init_catalog(sample, "pt_BR")
    catalog = read_catalog(path, locale="pt_BR")
    assert str(catalog.locale) == "pt_BR"
    assert catalog_status("pt_BR", catalog).untranslated == len(read_catalog(sample.pot_path))
    with pytest.raises(BuildError, match="already exists"):
        init_catalog(sample, "pt_BR")


@pytest.mark.parametrize("code", ["zz", "english", "fr_XX_YY", ""])
def test_unknown_language_codes_are_refused(sample: Config, code: str) -> None:
    with pytest.raises(BuildError, match="unknown language code"):
        init_catalog(sample, code)


def test_status_counts_translated_fuzzy_and_untranslated(sample: Config) -> None:
    catalog = read_catalog(sample.locales_dir / "fr" / "LC_MESSAGES" / "messages.po", locale="fr")
    status = catalog_status("fr", catalog)
    assert (status.translated, status.fuzzy, status.untranslated) == (18, 1, 1)
    assert status.percent == pytest.approx(90.0)


def test_untranslated_and_fuzzy_messages_fall_back_to_the_source() -> None:
    catalog = Catalog(locale="fr")
    catalog.add("Hello", "Bonjour")
    catalog.add("Fuzzy", "Flou", flags=["fuzzy"])
    catalog.add("Empty", "")
    translator = Translator(catalog)
    assert [translator.gettext(t) for t in ("Hello", "Fuzzy", "Empty", "Unknown")] == [
        "Bonjour",
        "Fuzzy",
        "Empty",
        "Unknown",
    ]
    assert translator.missing == {"Fuzzy", "Empty", "Unknown"}


def test_plural_forms_follow_the_language() -> None:
    catalog = Catalog(locale="fr")
    catalog.add(("%(n)s file", "%(n)s files"), ("%(n)s fichier", "%(n)s fichiers"))
    translator = Translator(catalog)
    forms = [translator.ngettext("%(n)s file", "%(n)s files", n) for n in (0, 1, 2)]
    assert forms == ["%(n)s fichier", "%(n)s fichier", "%(n)s fichiers"]  # French: 0 is singular
    assert Translator().ngettext("%(n)s file", "%(n)s files", 0) == "%(n)s files"


def test_language_names_and_direction_come_from_babel() -> None:
    assert Language.from_code("ar") == Language("ar", "ar", "ar", "العربية", "rtl")
    assert Language.from_code("pt_BR").slug == "pt-br"
    assert Language.from_code("de").native_name == "Deutsch"


@pytest.mark.parametrize(
    ("msgid", "msgstr", "problem"),
    [
        ("Step %(step)s of %(count)s", "Étape %(etape)s sur %(count)s", "placeholders differ"),
        ("Hello {name}", "Bonjour", "placeholders differ"),
        ("Open [the matcher](page:match).", "Ouvrez [l’outil](page:faq).", "link targets differ"),
        ("See [X](https://x.com).", "Voir X.", "link targets differ"),
        ("Keep `following.js`.", "Gardez `followers.js`.", "inline code spans differ"),
        ("Keep `a` and `b`.", "Gardez `a`.", "inline code spans differ"),
        ("Plain text.", "Texte <b>gras</b>.", "raw HTML"),
        ("Plain text.", "Texte <script src=x></script>", "raw HTML"),
        ("Plain text.", "Texte <!-- caché -->", "raw HTML"),
    ],
)
def test_check_rules_catch_bad_translations(msgid: str, msgstr: str, problem: str) -> None:
    assert any(problem in text for text in message_problems(msgid, msgstr))


@pytest.mark.parametrize(
    ("msgid", "msgstr"),
    [
        ("Open [the matcher](page:match) and `a.js`.", "Ouvrez `a.js` et [l’outil](page:match)."),
        ("100 % private, 3 < 5.", "100 % privé, 3 < 5."),
        ("Step %(step)s of %(count)s", "%(count)s 中的第 %(step)s 步"),
    ],
)
def test_check_rules_accept_good_translations(msgid: str, msgstr: str) -> None:
    assert message_problems(msgid, msgstr) == []


def write_po_text(path: Path, body: str) -> Path:
    path.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: fr\\n"\n\n' + body,
        encoding="utf-8",
    )
    return path


def test_check_names_the_file_and_line_of_a_bad_translation(tmp_path: Path) -> None:
    po = write_po_text(
        tmp_path / "messages.po",
        'msgid "Fine"\nmsgstr "Bien"\n\nmsgid "Open [it](page:match)."\nmsgstr "Ouvrez [le](page:home)."\n',
    )
    problems = check_catalog_file(po, "fr.po", "fr")
    assert [(p.path, p.line) for p in problems] == [("fr.po", 9)]
    assert "link targets differ" in str(problems[0])


def test_check_ignores_untranslated_and_fuzzy_messages(tmp_path: Path) -> None:
    po = write_po_text(
        tmp_path / "messages.po",
        'msgid "Open [it](page:match)."\nmsgstr ""\n\n#, fuzzy\nmsgid "B `x`"\nmsgstr "B"\n',
    )
    assert check_catalog_file(po, "fr.po", "fr") == []


def test_a_po_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    po = write_po_text(tmp_path / "messages.po", 'msgid "Fine"\nmsgstr "Bien"\nnonsense here\n')
    problems = check_catalog_file(po, "fr.po", "fr")
    assert problems and all("does not compile" in p.text for p in problems)
    assert problems[0].line == 8
    with pytest.raises(BuildError, match=r"messages\.po"):
        read_catalog(po)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_msgfmt_catches_what_babel_lets_through(tmp_path: Path) -> None:
    po = write_po_text(tmp_path / "messages.po", 'msgid "Fine"\nmsgstr "Bien\n')
    problems = check_catalog_file(po, "fr.po", "fr")
    assert problems and problems[0].line in (7, 8) and "does not compile" in problems[0].text


def test_writing_an_unchanged_catalog_leaves_the_file_alone(sample: Config) -> None:
    before = sample.pot_path.read_bytes()
    assert write_catalog(extract_catalog(sample), sample.pot_path) is False
    assert sample.pot_path.read_bytes() == before


def test_a_remembered_check_is_redone_when_the_file_changes(tmp_path: Path) -> None:
    from sitebuild.catalogs import remembered_checked_catalog

    po = tmp_path / "messages.po"
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n"Language: fr\\n"\n\n'
    po.write_text(header + 'msgid "Hello %(name)s"\nmsgstr "Bonjour %(name)s"\n', encoding="utf-8")
    cache = tmp_path / "cache"
    catalog, problems = remembered_checked_catalog(po, "fr.po", "fr", cache)
    assert catalog is not None and not problems and len(list(cache.glob("fr-*.pickle"))) == 1
    again, problems = remembered_checked_catalog(po, "fr.po", "fr", cache)
    assert again is not None and again.get("Hello %(name)s").string == "Bonjour %(name)s" and not problems
    po.write_text(header + 'msgid "Hello %(name)s"\nmsgstr "Bonjour %(nom)s"\n', encoding="utf-8")
    _, problems = remembered_checked_catalog(po, "fr.po", "fr", cache)
    assert problems and len(list(cache.glob("fr-*.pickle"))) == 1  # the old result is gone
