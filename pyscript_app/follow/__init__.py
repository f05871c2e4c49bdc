"""Following the selected people on Bluesky and Mastodon, paced and resumable.

The same engine runs in the page (Pyodide) and in the terminal (``python -m pyscript_app
follow``); only the ``AuthorizedClient`` differs (``client.py``). Start from ``FollowQueue.add``
(the selected matches), ``FollowRunner(queue, followers).plan()`` and ``.run()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..protocol import FOLLOW_STATES
from .bluesky import BlueskyFollower
from .client import ApiAnswer, AppPasswordClient, AuthorizedClient, PathClient
from .mastodon import MastodonFollower
from .model import FAILURE_REASONS, FollowQueue, FollowTask, NetworkQueue
from .pacing import BLUESKY_PACE, MASTODON_PACE, Pace, Window
from .runner import FollowRunner, RunResult

__all__ = [
    "BLUESKY_PACE", "FAILURE_REASONS", "FOLLOW_STATES", "MASTODON_PACE", "ApiAnswer", "AppPasswordClient",
    "AuthorizedClient", "BlueskyFollower", "FollowQueue", "FollowRunner", "FollowSettings", "FollowTask",
    "MastodonFollower", "NetworkQueue", "Pace", "PathClient", "RunResult", "Window",
]


@dataclass
class FollowSettings:
    """Where a Bluesky handle is resolved and DID documents are read (``[tool.passerelle]``)."""

    bluesky_handle_resolver: str = "https://bsky.social"
    plc_directory_url: str = "https://plc.directory"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FollowSettings:
        return cls(
            bluesky_handle_resolver=str(data.get("bluesky_handle_resolver") or cls.bluesky_handle_resolver),
            plc_directory_url=str(data.get("plc_directory_url") or cls.plc_directory_url),
        )
