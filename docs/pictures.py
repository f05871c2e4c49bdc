"""Screenshots of the guide's drawn pictures, in English, Arabic and Japanese (docs/pictures/).

    .venv/bin/python docs/pictures.py [--languages en ar ja] [--out docs/pictures]

Builds the site, serves it on 127.0.0.1, opens each guide page in Debian's Chromium and saves
every ``[data-testid=picture]`` figure as ``<language>-<picture>.png``: what a reader sees,
words translated and, in Arabic, mirrored. For reviewers; the site never ships these files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from sitebuild.config import load_config  # noqa: E402
from sitebuild.render import build_site  # noqa: E402
from sitebuild.serve import make_server  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = ("request-archive", "create-account", "find-contacts", "follow-again")


def screenshots(languages: list[str], out: Path) -> list[Path]:
    """Build, serve and photograph; returns the files written."""
    written = []
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        build_site(load_config(ROOT), site)
        server = make_server(site, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        out.mkdir(parents=True, exist_ok=True)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 900, "height": 900}, device_scale_factor=1)
                for language in languages:
                    for key in PAGES:
                        page.goto(f"{base}{language}/{key}/")
                        for figure in page.get_by_test_id("picture").all():
                            target = out / f"{language}-{figure.get_attribute('data-picture')}.png"
                            figure.screenshot(path=str(target))
                            written.append(target)
                browser.close()
        finally:
            server.shutdown()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", nargs="+", default=["en", "ar", "ja"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "pictures")
    args = parser.parse_args()
    for path in screenshots(args.languages, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
