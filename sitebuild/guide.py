"""Guide pages: front matter, splitting Markdown into translation messages, and rendering.

A page's Markdown is cut into *pieces*: literal text (list markers, table pipes, code blocks,
blank lines) and *messages* (a heading, a paragraph, a list item, a table cell, an image's alt
text, a front matter value). Inline Markdown stays inside its message, so a translator sees
``Open [the matcher](page:match) and pick **the zip**.`` and keeps the link target and the
markup. Translating a page is replacing each message, then rendering the result.
"""

from __future__ import annotations

import re
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
        """The page's Markdown with every message passed through ``gettext``."""
        return "".join(gettext(p.text) if isinstance(p, Message) else p for p in self.body)


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
            prefix, text = (item or quote).groups() if (item or quote) else ("", line.strip())
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


class _LinkRewriter(Treeprocessor):
    """Turns ``page:KEY`` and ``asset:PATH`` targets into relative URLs."""

    def __init__(self, md: markdown.Markdown, resolve: Callable[[str], str]) -> None:
        super().__init__(md)
        self.resolve = resolve

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value and value.startswith(("page:", "asset:")):
                    element.set(attribute, self.resolve(value))


class _LinkExtension(Extension):
    def __init__(self, resolve: Callable[[str], str]) -> None:
        super().__init__()
        self.resolve = resolve

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.treeprocessors.register(_LinkRewriter(md, self.resolve), "passerelle_links", 5)


def render_markdown(source: str, resolve: Callable[[str], str]) -> str:
    """Render translated Markdown to HTML, resolving internal link targets."""
    converter = markdown.Markdown(
        extensions=["tables", "fenced_code", "sane_lists", "toc", _LinkExtension(resolve)],
        extension_configs={"toc": {"slugify": slugify_unicode}},
        output_format="html",
    )
    return converter.convert(source)
