"""Guide pages: front matter, splitting Markdown into translation messages, and rendering.

A page's Markdown is cut into *pieces*: literal text (list markers, table pipes, code blocks,
blank lines) and *messages* (a heading, a paragraph, a list item, a table cell, an image's alt
text, a front matter value). Inline Markdown stays inside its message, so a translator sees
``Open [the matcher](page:match) and pick **the zip**.`` and keeps the link target and the
markup. Translating a page is replacing each message, then rendering the result.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

from .errors import BuildError

FRONT_MATTER_KEYS = {"title", "description", "nav_title", "step"}
TRANSLATED_KEYS = ("title", "description", "nav_title")

FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6}[ \t]+)(.*?)([ \t]+#+)?[ \t]*$")
LIST_ITEM = re.compile(r"^([ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)(.*)$")
QUOTE = re.compile(r"^(>[ \t]?)(.*)$")
IMAGE_LINE = re.compile(r"^(!\[)(.*?)(\]\([^)]*\)[ \t]*)$")
TABLE_ROW = re.compile(r"^[ \t]*\|")
TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")
CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Message:
    """A translatable piece of a page, with the source line it starts on."""

    text: str
    lineno: int


Piece = str | Message


@dataclass(frozen=True)
class GuidePage:
    """One Markdown page of the guide, split into pieces."""

    key: str
    path: Path
    meta: dict[str, Message]
    step: int | None
    body: tuple[Piece, ...]

    def messages(self) -> Iterator[Message]:
        """Every message of the page, front matter first, in reading order."""
        for key in TRANSLATED_KEYS:
            if key in self.meta:
                yield self.meta[key]
        yield from (piece for piece in self.body if isinstance(piece, Message))

    def translated_body(self, gettext: Callable[[str], str]) -> str:
        """The page's Markdown with every message passed through ``gettext``.

        A message is one block: a line break in a translation could start a new block (a
        reference definition, a heading), so translations are kept on one line.
        """
        return "".join(" ".join(gettext(p.text).splitlines()) if isinstance(p, Message) else p for p in self.body)


def parse_front_matter(text: str, path: Path) -> tuple[dict[str, tuple[str, int]], str, int]:
    """Split ``---`` front matter from the body; return (values with lines, body, body's line)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise BuildError(f"{path}:1: front matter missing: the file must start with a '---' line")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise BuildError(f"{path}:1: front matter is not closed by a '---' line") from None
    values: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise BuildError(f"{path}:{number}: front matter line must read 'key: value': {line!r}")
        if key not in FRONT_MATTER_KEYS:
            allowed = ", ".join(sorted(FRONT_MATTER_KEYS))
            raise BuildError(f"{path}:{number}: unknown front matter key '{key}' (allowed: {allowed})")
        values[key] = (value, number)
    if "title" not in values:
        raise BuildError(f"{path}:1: front matter needs a 'title'")
    return values, "\n".join(lines[end + 1 :]) + "\n", end + 2


def _cells(line: str, lineno: int) -> Iterator[Piece]:
    """Split a table row into pipes (literal) and non-empty cells (messages)."""
    parts = CELL_SPLIT.split(line.rstrip())
    for index, part in enumerate(parts):
        if index:
            yield "|"
        text = part.strip()
        if text:
            yield " "
            yield Message(text, lineno)
            yield " "
        else:
            yield part
    yield "\n"


def _is_block_start(line: str) -> bool:
    return bool(
        not line.strip()
        or FENCE.match(line)
        or HEADING.match(line)
        or LIST_ITEM.match(line)
        or QUOTE.match(line)
        or TABLE_ROW.match(line)
    )


def split_markdown(body: str, first_line: int = 1) -> list[Piece]:
    """Cut a Markdown body into literal pieces and messages, block by block."""
    lines = body.splitlines()
    pieces: list[Piece] = []
    i = 0
    while i < len(lines):
        line, lineno = lines[i], first_line + i
        if fence := FENCE.match(line):
            end = i + 1
            while end < len(lines) and not lines[end].startswith(fence.group(1)):
                end += 1
            pieces.append("\n".join(lines[i : end + 1]) + "\n")
            i = end + 1
        elif not line.strip():
            pieces.append("\n")
            i += 1
        elif heading := HEADING.match(line):
            pieces += [heading.group(1), Message(heading.group(2).strip(), lineno), "\n"]
            i += 1
        elif TABLE_ROW.match(line):
            pieces += [line + "\n"] if TABLE_RULE.match(line) else list(_cells(line, lineno))
            i += 1
        elif image := IMAGE_LINE.match(line):
            pieces += [image.group(1), Message(image.group(2), lineno), image.group(3) + "\n"]
            i += 1
        else:
            item = LIST_ITEM.match(line)
            quote = QUOTE.match(line)
            prefix, text = marked.groups() if (marked := item or quote) else ("", line.strip())
            words = [text.strip()]
            i += 1
            while i < len(lines) and not _is_block_start(lines[i]):
                words.append(lines[i].strip())
                i += 1
            while quote and i < len(lines) and (more := QUOTE.match(lines[i])) and more.group(2):
                words.append(more.group(2).strip())
                i += 1
            pieces += [prefix, Message(" ".join(words), lineno), "\n"]
    return pieces


def load_page(path: Path) -> GuidePage:
    """Read and split one guide page; broken front matter is a BuildError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise BuildError(f"{path}: not UTF-8 text ({error.reason})") from None
    values, body, body_line = parse_front_matter(text, path)
    step = None
    if "step" in values:
        raw, number = values["step"]
        if not raw.isdigit():
            raise BuildError(f"{path}:{number}: 'step' must be a whole number, not {raw!r}")
        step = int(raw)
    meta = {key: Message(*values[key]) for key in TRANSLATED_KEYS if key in values}
    return GuidePage(path.stem, path, meta, step, tuple(split_markdown(body, body_line)))


# Where a guide link or image may point: pages and assets of the site, secure web pages, e-mail,
# and anchors. Anything else (javascript:, data:, http:, relative paths) is refused at build time.
LINK_SCHEMES = ("page:", "asset:", "https:", "mailto:", "#")
# A guide image never loads from another origin; ``picture:NAME`` is one of the site's own drawn
# pictures (site/templates/pictures/NAME.html), inlined with its words translated.
IMAGE_SCHEMES = ("asset:", "picture:")
INTERNAL_SCHEMES = ("page:", "asset:", "picture:")
# How a picture alone in its paragraph comes out of Markdown: replaced by the drawing (render.py).
PICTURE = re.compile(r'<p><img alt="(?P<caption>[^"]*)" src="picture:(?P<name>[a-z0-9-]+)"\s*/?></p>')


def disallowed_target(attribute: str, value: str) -> bool:
    """True when a rendered ``href`` or ``src`` points somewhere the guide must never point."""
    allowed = IMAGE_SCHEMES if attribute == "src" else LINK_SCHEMES
    return not value.strip().lower().startswith(allowed)


class _LinkVisitor(Treeprocessor):  # type: ignore[misc]  # Markdown has no type hints: its classes are Any
    """Hands every ``href`` and ``src`` of the rendered tree to ``visit``, which returns the value to keep."""

    def __init__(self, md: markdown.Markdown, visit: Callable[[str, str], str]) -> None:
        super().__init__(md)
        self.visit = visit

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None:
                    element.set(attribute, self.visit(attribute, value))


class _SafeExtension(Extension):  # type: ignore[misc]  # Markdown has no type hints: its classes are Any
    """No raw HTML (it is shown as text); every link and image source goes through ``visit``."""

    def __init__(self, visit: Callable[[str, str], str]) -> None:
        super().__init__()
        self.visit = visit
        self.visitor: _LinkVisitor

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.deregister("automail")  # it hides the address in entities; write [x](mailto:x)
        self.visitor = _LinkVisitor(md, self.visit)
        md.treeprocessors.register(self.visitor, "passerelle_links", 5)


class _Converter:
    """One Markdown converter, reset between documents (building one costs more than a conversion)."""

    def __init__(self) -> None:
        self.extension = _SafeExtension(lambda attribute, value: value)
        self.markdown = markdown.Markdown(
            extensions=["tables", "fenced_code", "sane_lists", "toc", self.extension],
            extension_configs={"toc": {"slugify": slugify_unicode}},
            output_format="html",
        )

    def convert(self, source: str, visit: Callable[[str, str], str]) -> str:
        self.extension.visitor.visit = visit
        try:
            html: str = self.markdown.reset().convert(source)
            return html
        finally:
            self.extension.visitor.visit = lambda attribute, value: value


_CONVERTER = threading.local()


def _convert(source: str, visit: Callable[[str, str], str]) -> str:
    converter = getattr(_CONVERTER, "value", None)
    if converter is None:
        converter = _CONVERTER.value = _Converter()
    return converter.convert(source, visit)


def render_markdown(source: str, resolve: Callable[[str], str]) -> str:
    """Render translated Markdown to HTML: raw HTML stays text, internal targets become relative
    URLs, and a target with any other scheme than the guide allows is a BuildError."""

    def checked(attribute: str, value: str) -> str:
        if disallowed_target(attribute, value):
            kind = "image source" if attribute == "src" else "link target"
            allowed = ", ".join(IMAGE_SCHEMES if attribute == "src" else LINK_SCHEMES)
            raise BuildError(f"{kind} {value[:80]!r} is not allowed (only {allowed})")
        return resolve(value) if value.startswith(INTERNAL_SCHEMES) else value

    return _convert(source, checked)


@functools.lru_cache(maxsize=4096)
def link_targets(text: str) -> tuple[str, ...]:
    """Every link target and image source a message renders to, sorted (for the catalog check)."""
    if "[" not in text and "<" not in text:
        return ()
    found: list[str] = []

    def record(attribute: str, value: str) -> str:
        found.append(f"{attribute}={value}")
        return value

    _convert(text, record)
    return tuple(sorted(found))
