"""Guide Markdown is cut into one message per block, inline Markdown kept, code untouched."""

from pathlib import Path

import pytest

from sitebuild.errors import BuildError
from sitebuild.guide import Message, load_page, parse_front_matter, split_markdown


def messages(body: str) -> list[str]:
    return [piece.text for piece in split_markdown(body) if isinstance(piece, Message)]


def test_blocks_become_messages_with_inline_markdown_kept() -> None:
    body = (
        "## A heading ##\n\n"
        "A paragraph with **bold** and a [link](page:faq),\n"
        "wrapped on two lines.\n\n"
        "- First item\n"
        "  continued here.\n"
        "- Second `item`\n\n"
        "1. Numbered\n\n"
        "> **Tip:** a quote\n"
        "> on two lines.\n"
    )
    assert messages(body) == [
        "A heading",
        "A paragraph with **bold** and a [link](page:faq), wrapped on two lines.",
        "First item continued here.",
        "Second `item`",
        "Numbered",
        "**Tip:** a quote on two lines.",
    ]


def test_tables_give_one_message_per_cell_and_keep_the_rule() -> None:
    body = "| File | Holds |\n|---|:---:|\n| `a.js` | Some *things* |\n"
    pieces = split_markdown(body)
    assert messages(body) == ["File", "Holds", "`a.js`", "Some *things*"]
    assert "|---|:---:|\n" in pieces


def test_code_blocks_and_image_urls_are_not_messages() -> None:
    body = "```\npython build.py build\n```\n\n![A bridge at dusk](asset:bridge.svg)\n"
    assert messages(body) == ["A bridge at dusk"]
    joined = "".join(p if isinstance(p, str) else f"<<{p.text}>>" for p in split_markdown(body))
    assert joined == "```\npython build.py build\n```\n\n![<<A bridge at dusk>>](asset:bridge.svg)\n"


def test_message_line_numbers_point_into_the_file() -> None:
    pieces = split_markdown("First.\n\n## Second\n", first_line=10)
    assert [p.lineno for p in pieces if isinstance(p, Message)] == [10, 12]


def test_translation_replaces_each_message(tmp_path: Path) -> None:
    page_file = tmp_path / "faq.md"
    page_file.write_text("---\ntitle: Questions\n---\n\n## Why?\n\n- Because.\n", encoding="utf-8")
    page = load_page(page_file)
    french = {"Why?": "Pourquoi ?", "Because.": "Parce que."}
    assert page.translated_body(lambda text: french.get(text, text)) == "\n## Pourquoi ?\n\n- Parce que.\n"
    assert [m.text for m in page.messages()] == ["Questions", "Why?", "Because."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: x\n", "front matter missing"),
        ("---\ntitle: x\n", "not closed"),
        ("---\ntitle x\n---\n", "must read 'key: value'"),
        ("---\ntitel: x\n---\n", "unknown front matter key 'titel'"),
        ("---\nnav_title: x\n---\n", "needs a 'title'"),
    ],
)
def test_broken_front_matter_is_a_clear_error(text: str, expected: str) -> None:
    with pytest.raises(BuildError, match=expected):
        parse_front_matter(text, Path("content/x.md"))


def test_step_must_be_a_number(tmp_path: Path) -> None:
    page_file = tmp_path / "one.md"
    page_file.write_text("---\ntitle: One\nstep: first\n---\nText.\n", encoding="utf-8")
    with pytest.raises(BuildError, match=r"one.md:3: 'step' must be a whole number"):
        load_page(page_file)
