"""What the Web Worker calls: JSON in, JSON out, one session's graph kept between calls.

The JavaScript glue (``site/static/matcher-worker.js``) mounts the picked files read-only
under ``/archive`` and calls these functions; it never sees a traceback: a problem the person
can act on comes back as ``{"error": notice}``, anything else as ``{"crash": text}`` for the
console, and the page shows a translated message for both.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import N_
from .archive import ArchiveReader
from .graph import PersonGraph
from .notices import ArchiveError, Notice
from .sources import open_source

PostProgress = Callable[[str, int, int], None]


def page_summary(graph: PersonGraph, complete: bool) -> dict[str, Any]:
    """The summary plus its warnings as notices, for the page to translate."""
    return graph.summary() | {"notices": [w.to_json() for w in graph.warnings], "complete": complete}


class Session:
    """The person's graph for as long as the page is open; nothing is written anywhere."""

    def __init__(self) -> None:
        self.graph: PersonGraph | None = None

    def read(self, paths: list[str], post_summary: Callable[[str], None], progress: PostProgress) -> dict[str, Any]:
        """Read what was picked; posts the counts first, returns the complete summary."""
        source = open_source(Path(p) for p in paths)
        try:
            reader = ArchiveReader(source)
            graph = reader.read_relations()
            post_summary(json.dumps(page_summary(graph, complete=False), ensure_ascii=False))
            reader.read_names(graph, progress)
        finally:
            source.close()
        self.graph = graph
        return page_summary(graph, complete=True)

    def restore(self, saved: str) -> dict[str, Any]:
        try:
            self.graph = PersonGraph.from_json(saved)
        except (ValueError, KeyError, TypeError, IndexError):
            raise ArchiveError(
                N_("What was kept on this device cannot be read any more. Pick your archive again.")
            ) from None
        return page_summary(self.graph, complete=True)

    def saved_form(self) -> dict[str, Any]:
        if self.graph is None:
            raise ArchiveError(N_("There is nothing to keep yet: pick your archive first."))
        return {"saved": self.graph.to_json()}

    def forget(self) -> dict[str, Any]:
        self.graph = None
        return {"forgotten": True}


SESSION = Session()


def _answer(work: Callable[[], dict[str, Any]]) -> str:
    """Run one request; turn every failure into a message the page can show."""
    try:
        result = work()
    except ArchiveError as error:
        result = {"error": error.notice.to_json()}
    except MemoryError:
        result = {"error": Notice(N_("Your device ran out of memory while reading the archive.")).to_json()}
    except Exception:  # the page must never show a traceback; the console gets it
        result = {
            "error": Notice(N_("Something went wrong while reading your archive.")).to_json(),
            "crash": traceback.format_exc(),
        }
    return json.dumps(result, ensure_ascii=False)


def read(paths_json: str, post_summary: Callable[[str], None], progress: PostProgress) -> str:
    return _answer(lambda: SESSION.read(json.loads(paths_json), post_summary, progress))


def restore(saved: str) -> str:
    return _answer(lambda: SESSION.restore(saved))


def saved_form() -> str:
    return _answer(SESSION.saved_form)


def forget() -> str:
    return _answer(SESSION.forget)
