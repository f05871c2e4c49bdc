"""Gettext catalogs: small typed functions over Babel (extract, update, init, compile, status, check)."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.catalog import Message as CatalogMessage
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po
from jinja2.ext import babel_extract

from .config import Config
from .errors import BuildError
from .guide import disallowed_target, link_targets, load_page

DOMAIN = "messages"
# js_text: a template string handed to JavaScript as is, its %(name)s placeholders filled there.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "js_text": None}
TEMPLATE_OPTIONS = {"trimmed": "true", "extensions": "jinja2.ext.i18n"}
# Jinja's extractor, as Babel's extract() calls it. Their annotations disagree (Babel describes a
# method's results as its own output tuples; Jinja yields the (lineno, funcname, message, comments)
# tuples extract() really unpacks), so it is handed over untyped.
TEMPLATE_EXTRACTOR = cast(Any, babel_extract)


def po_path(config: Config, code: str) -> Path:
    return config.locales_dir / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def shipped_languages(config: Config) -> list[str]:
    """Language codes that have a PO file, sorted; the source language has none."""
    found = sorted(path.parent.parent.name for path in config.locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    for code in found:
        parse_locale(code)
    return found


def parse_locale(code: str) -> Locale:
    """Babel's locale for a gettext code such as ``fr`` or ``pt_BR``; unknown codes are a BuildError."""
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError, TypeError):
        raise BuildError(
            f"unknown language code '{code}': use an ISO 639 code such as 'fr', 'pt_BR' or 'zh_Hant'"
        ) from None


def _relative(config: Config, path: Path) -> str:
    try:
        return path.relative_to(config.locales_dir.parent).as_posix()
    except ValueError:
        return path.as_posix()


def _template_messages(config: Config) -> Iterator[tuple[str, int, str | tuple[str, ...], list[str]]]:
    for path in sorted(config.templates_dir.rglob("*.html")):
        with path.open("rb") as handle:
            for lineno, message, comments, _context in extract(
                TEMPLATE_EXTRACTOR, handle, KEYWORDS, ("Translators:",), TEMPLATE_OPTIONS, True
            ):
                yield _relative(config, path), lineno, message, comments


def _python_messages(config: Config) -> Iterator[tuple[str, int, str | tuple[str, ...], list[str]]]:
    for pattern in config.extract_python:
        for path in sorted(config.root.glob(pattern)):
            with path.open("rb") as handle:
                for lineno, message, comments, _context in extract(
                    "python", handle, KEYWORDS, ("Translators:",), None, True
                ):
                    yield _relative(config, path), lineno, message, comments


def python_msgids(config: Config) -> tuple[str, ...]:
    """The in-browser app's messages, each once: the page hands their translations to the app."""
    found = dict.fromkeys(m if isinstance(m, str) else m[0] for _f, _l, m, _c in _python_messages(config))
    return tuple(found)


def _guide_messages(config: Config) -> Iterator[tuple[str, int, str, list[str]]]:
    for key in config.pages:
        path = config.content_dir / f"{key}.md"
        if path.exists():
            for message in load_page(path).messages():
                yield _relative(config, path), message.lineno, message.text, []


def extract_catalog(config: Config) -> Catalog:
    """Every user-visible string of the site: templates, the guide, then the in-browser app."""
    catalog = Catalog(
        project=config.site_name,
        copyright_holder=f"the {config.site_name} contributors",
        fuzzy=False,
        creation_date=datetime.now(UTC),
    )
    for source in (_template_messages(config), _guide_messages(config), _python_messages(config)):
        for filename, lineno, message, comments in source:
            catalog.add(message, None, [(filename, lineno)], auto_comments=comments)
    return catalog


def _same_messages(a: Catalog, b: Catalog) -> bool:
    def signature(catalog: Catalog) -> list[tuple[object, ...]]:
        return [(m.id, m.string or "", m.fuzzy, tuple(m.locations), tuple(m.auto_comments)) for m in catalog if m.id]

    return signature(a) == signature(b) and a.locale == b.locale


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """Read a PO or POT file; a syntax error is a BuildError naming the file and line."""
    try:
        with path.open("rb") as handle:
            return read_po(handle, locale=locale, abort_invalid=True)
    except FileNotFoundError:
        raise BuildError(f"{path}: not found (run 'python build.py i18n extract' first)") from None
    except PoFileError as error:
        raise BuildError(f"{path}: {error}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BuildError(f"{path}: cannot be read as a PO file: {error}") from None


def write_catalog(catalog: Catalog, path: Path) -> bool:
    """Write ``catalog`` unless the file already holds the same messages; return whether it wrote."""
    if path.exists():
        try:
            if _same_messages(read_catalog(path), catalog):
                return False
        except BuildError:
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=79, ignore_obsolete=True)
    path.write_bytes(buffer.getvalue())
    return True


def extract_messages(config: Config) -> Path:
    """Write ``messages.pot`` from the sources."""
    write_catalog(extract_catalog(config), config.pot_path)
    return config.pot_path


def update_catalogs(config: Config) -> list[Path]:
    """Merge the template into every language's PO file (new messages, fuzzy matches)."""
    template = read_catalog(config.pot_path)
    written = []
    for code in shipped_languages(config):
        path = po_path(config, code)
        catalog = read_catalog(path, locale=code)
        catalog.update(template)
        if write_catalog(catalog, path):
            written.append(path)
    return written


def init_catalog(config: Config, code: str) -> Path:
    """Start a new language's PO file from the template."""
    locale = parse_locale(code)
    path = po_path(config, code)
    if path.exists():
        raise BuildError(f"{path} already exists: run 'python build.py i18n update' instead")
    template = read_catalog(config.pot_path)
    catalog = Catalog(
        locale=locale, project=config.site_name, copyright_holder=f"the {config.site_name} contributors", fuzzy=False
    )
    catalog.update(template)
    write_catalog(catalog, path)
    return path


def compile_catalog(catalog: Catalog) -> bytes:
    """The MO bytes of a catalog; fuzzy messages are left out, so they fall back to English."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_catalogs(config: Config) -> list[Path]:
    """Write every language's ``messages.mo`` beside its PO file."""
    written = []
    for code in shipped_languages(config):
        path = po_path(config, code)
        mo_path = path.with_suffix(".mo")
        mo_path.write_bytes(compile_catalog(read_catalog(path, locale=code)))
        written.append(mo_path)
    return written


def is_translated(message: CatalogMessage) -> bool:
    """True when every form of the message has a translation that is not fuzzy."""
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(message.id) and not message.fuzzy and all(strings)


@dataclass(frozen=True)
class Status:
    code: str
    translated: int
    fuzzy: int
    untranslated: int

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def catalog_status(code: str, catalog: Catalog) -> Status:
    messages = [m for m in catalog if m.id]
    translated = sum(1 for m in messages if is_translated(m))
    fuzzy = sum(1 for m in messages if m.fuzzy and m.string)
    return Status(code, translated, fuzzy, len(messages) - translated - fuzzy)


def language_status(config: Config) -> list[Status]:
    """Per language, how many messages are translated, fuzzy and untranslated."""
    template = read_catalog(config.pot_path)
    statuses = []
    for code in shipped_languages(config):
        catalog = read_catalog(po_path(config, code), locale=code)
        catalog.update(template)  # count against the current template, not a stale file
        statuses.append(catalog_status(code, catalog))
    return statuses


def format_status(statuses: Iterable[Status]) -> str:
    rows = [f"{'language':<10} {'translated':>10} {'fuzzy':>6} {'untranslated':>12} {'done':>7}"]
    for s in statuses:
        rows.append(f"{s.code:<10} {s.translated:>10} {s.fuzzy:>6} {s.untranslated:>12} {s.percent:>6.1f}%")
    return "\n".join(rows)


# --- check -----------------------------------------------------------------------------------

PLACEHOLDER = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]|\{[A-Za-z_][A-Za-z0-9_]*\}"
)
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def _differences(label: str, pattern: re.Pattern[str], source: str, translation: str) -> str | None:
    def found(text: str) -> list[str]:
        return sorted(m.group(0) if not m.groups() else m.group(m.lastindex or 0) for m in pattern.finditer(text))

    expected, actual = found(source), found(translation)
    if expected == actual:
        return None
    return f"{label} differ: msgid has {expected or 'none'}, msgstr has {actual or 'none'}"


def message_problems(msgid: str, msgstr: str) -> list[str]:
    """What is wrong with one translation: placeholders, link targets, inline code, raw HTML."""
    problems = [
        difference
        for label, pattern in (("placeholders", PLACEHOLDER), ("inline code spans", INLINE_CODE))
        if (difference := _differences(label, pattern, msgid, msgstr))
    ]
    expected, actual = link_targets(msgid), link_targets(msgstr)
    if expected != actual:
        problems.append(
            f"link targets differ: msgid has {list(expected) or 'none'}, msgstr has {list(actual) or 'none'}"
        )
    for target in actual:
        attribute, _, value = target.partition("=")
        if disallowed_target(attribute, value):
            problems.append(f"link target {value[:80]!r} is not allowed in the guide")
    if (html := HTML_TAG.search(msgstr)) is not None:
        problems.append(f"raw HTML is not allowed in a translation: {html.group(0)!r}")
    if "\n" in msgstr and "\n" not in msgid:
        problems.append("line breaks are not allowed in this translation: keep it on one line")
    return problems


def msgfmt_problems(path: Path, shown_as: str) -> list[Problem]:
    """What GNU msgfmt, when installed, finds wrong in a PO file (it is stricter than Babel's reader)."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        return []
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", os.devnull, str(path)], capture_output=True, text=True, check=False
    )
    problems = []
    for line in result.stderr.splitlines():
        if match := re.match(r"^.*?:(\d+):\s*(.*)$", line):
            problems.append(Problem(shown_as, int(match.group(1)), f"does not compile: {match.group(2)}"))
    return problems


def checked_catalog(path: Path, shown_as: str, code: str) -> tuple[Catalog | None, list[Problem]]:
    """One PO file read once: its catalog (None if it cannot be read) and every problem, each
    naming its line."""
    problems = msgfmt_problems(path, shown_as)
    try:
        catalog = read_catalog(path, locale=code)
    except BuildError as error:
        match = re.search(r" on (\d+)$", str(error))
        line = int(match.group(1)) + 1 if match else 1
        return None, problems or [Problem(shown_as, line, f"does not compile: {error}")]
    return catalog, problems + catalog_problems(catalog, shown_as)


def _rules_fingerprint() -> str:
    """What the checks depend on besides the PO file: this module, the guide's Markdown rules, Babel."""
    import babel

    from . import guide

    digest = hashlib.sha256(babel.__version__.encode())
    for module in (__file__, guide.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def remembered_checked_catalog(
    path: Path, shown_as: str, code: str, cache: Path
) -> tuple[Catalog | None, list[Problem]]:
    """``checked_catalog``, remembered by the PO file's bytes and the rules' source: a file that did
    not change since the last build is neither parsed nor checked again (about 0.1 s a language)."""
    key = hashlib.sha256(path.read_bytes() + _rules_fingerprint().encode() + code.encode() + shown_as.encode())
    stored = cache / f"{code}-{key.hexdigest()[:32]}.pickle"
    if stored.exists():
        try:
            with stored.open("rb") as handle:
                remembered: tuple[Catalog | None, list[Problem]] = pickle.load(handle)
            return remembered
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            stored.unlink(missing_ok=True)
    result = checked_catalog(path, shown_as, code)
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{code}-*.pickle"):
        old.unlink(missing_ok=True)
    partial = stored.with_suffix(".partial")
    with partial.open("wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(stored)
    return result


def check_catalog_file(path: Path, shown_as: str, code: str) -> list[Problem]:
    """Every problem of one PO file, each naming its line."""
    return checked_catalog(path, shown_as, code)[1]


def _forms(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A translated message's id or string as its forms (a plural has several)."""
    if isinstance(text, tuple):
        return text
    assert isinstance(text, str), text  # read_po reads a str or a tuple; a translated message has no None
    return (text,)


def catalog_problems(catalog: Catalog, shown_as: str) -> list[Problem]:
    """What the rules of ``i18n check`` find wrong in the translated messages of a catalog."""
    problems = []
    for message in catalog:
        if not message.id or not is_translated(message):
            continue
        ids = _forms(message.id)
        strings = _forms(message.string)
        for index, string in enumerate(strings):
            msgid = ids[min(index, len(ids) - 1)]
            for text in message_problems(msgid, string):
                problems.append(Problem(shown_as, message.lineno or 1, text))
    for message, errors in catalog.check():
        if message.fuzzy:  # never shown (the page shows the English): its translator will redo it
            continue
        for error in errors:
            problems.append(Problem(shown_as, message.lineno or 1, str(error)))
    return problems


def shown_path(config: Config, path: Path) -> str:
    """A catalog's path as problems name it (relative to the project)."""
    return _relative(config, path)


def check_catalogs(config: Config) -> list[Problem]:
    """Problems across every language's PO file."""
    problems = []
    for code in shipped_languages(config):
        path = po_path(config, code)
        problems += check_catalog_file(path, shown_path(config, path), code)
    return problems
