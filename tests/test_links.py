"""Link checker: every internal link and asset of every page of every language resolves."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

LINKING_ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src"}


class LinkCollector(HTMLParser):
    """Collects link targets and element ids of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        attribute = LINKING_ATTRIBUTES.get(tag)
        if attribute and values.get(attribute) is not None:
            self.links.append(values[attribute])


def parse(page: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(page.read_text(encoding="utf-8"))
    return collector


def target_file(site: Path, page: Path, link: str) -> tuple[Path | None, str]:
    """The file a relative link points at (None for another origin) and its fragment."""
    base = "http://site/" + page.relative_to(site).as_posix()
    url = urlsplit(urljoin(base, link))
    if url.scheme not in ("http", "https") or url.netloc != "site":
        return None, ""
    path = unquote(url.path).lstrip("/")
    file = site / path
    if path == "" or path.endswith("/"):
        file = file / "index.html"
    return file, url.fragment


def test_every_internal_link_and_asset_resolves(built_site: Path) -> None:
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 60
    parsed = {page: parse(page) for page in pages}
    broken = []
    checked = 0
    for page, collector in parsed.items():
        for link in collector.links:
            assert not link.startswith("/"), f"{page}: root-relative URL {link!r} breaks under a subfolder"
            file, fragment = target_file(built_site, page, link)
            if file is None:
                continue
            checked += 1
            if not file.is_file():
                broken.append(f"{page.relative_to(built_site)}: {link}")
            elif fragment and file.suffix == ".html" and fragment not in parse(file).ids:
                broken.append(f"{page.relative_to(built_site)}: {link} (no such anchor)")
    assert checked > 1000
    assert not broken, "\n".join(broken)


def test_the_checker_notices_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    page = tmp_path / "fr" / "index.html"
    page.write_text('<a href="../de/">x</a><a href="#here">y</a><p id="here"></p>', encoding="utf-8")
    file, _ = target_file(tmp_path, page, "../de/")
    assert file == tmp_path / "de" / "index.html" and not file.exists()
    assert target_file(tmp_path, page, "https://example.org/")[0] is None
    assert parse(page).ids == {"here"}
