"""The guide's drawn pictures: one at least on every step, words translated, mirrored in Arabic."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sitebuild.config import Config
from sitebuild.errors import BuildError
from sitebuild.render import build_site

CANVAS = 640


class Figures(HTMLParser):
    """Each picture's boxes (rect and foreignObject: x, width) and the words in it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.pictures: dict[str, dict[str, list]] = {}
        self.current: dict[str, list] | None = None
        self.in_value = False  # inside a dir="ltr" box: a file name or an address, never translated

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "figure" and found.get("data-testid") == "picture":
            self.current = self.pictures[str(found["data-picture"])] = {"boxes": [], "words": []}
        elif self.current is not None and tag in ("rect", "foreignobject") and "data-in-address" not in found:
            self.current["boxes"].append((float(found["x"] or 0), float(found["width"] or 0)))
        elif tag == "div":
            self.in_value = found.get("dir") == "ltr"

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self.current = None
        elif tag == "div":
            self.in_value = False

    def handle_data(self, data: str) -> None:
        if self.current is not None and data.strip() and not self.in_value:
            self.current["words"].append(data.strip())


def pictures_of(site: Path, language: str, page: str) -> dict[str, dict[str, list]]:
    parser = Figures()
    parser.feed((site / language / page / "index.html").read_text(encoding="utf-8"))
    return parser.pictures


def step_pages(config: Config) -> list[str]:
    pages = []
    for key in config.guide:
        text = (config.content_dir / f"{key}.md").read_text(encoding="utf-8") if key != "match" else ""
        if re.search(r"^step: \d+$", text, re.MULTILINE):
            pages.append(key)
    return pages


def test_every_step_of_the_guide_has_a_picture(config: Config, built_site: Path) -> None:
    steps = step_pages(config)
    assert len(steps) >= 4
    for key in steps:
        assert pictures_of(built_site, "en", key), key


def test_pictures_are_mirrored_in_arabic_and_their_words_translated(config: Config, built_site: Path) -> None:
    for key in step_pages(config):
        english, arabic = pictures_of(built_site, "en", key), pictures_of(built_site, "ar", key)
        assert english.keys() == arabic.keys()
        for name, drawn in english.items():
            mirrored = arabic[name]["boxes"]
            assert len(mirrored) == len(drawn["boxes"])
            for (x, width), (x_ar, width_ar) in zip(drawn["boxes"], mirrored, strict=True):
                assert width_ar == width and x_ar == pytest.approx(CANVAS - x - width), name
            latin = [w for w in drawn["words"] if re.search("[a-z]{3}", w) and " " in w]
            assert latin and not set(latin) & set(arabic[name]["words"]), (name, latin)


def test_japanese_pictures_are_in_japanese(built_site: Path) -> None:
    words = pictures_of(built_site, "ja", "find-contacts")["four-moments"]["words"]
    assert words and all(re.search("[\u3040-\u30ff\u4e00-\u9fff]", w) for w in words if not w.isdigit())


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("![A picture nobody drew](picture:nothing-here)", "unknown picture 'nothing-here'"),
        ("Inside a sentence ![a picture](picture:four-moments) is refused.", "alone in its paragraph"),
    ],
)
def test_a_picture_that_cannot_be_drawn_stops_the_build(
    config: Config, tmp_path: Path, markdown: str, problem: str
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for page in config.content_dir.glob("*.md"):
        (content / page.name).write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    with (content / "faq.md").open("a", encoding="utf-8") as faq:
        faq.write(f"\n{markdown}\n")
    with pytest.raises(BuildError, match=problem):
        build_site(replace(config, content_dir=content), tmp_path / "out")
