"""The page and the worker speak pyscript_app.protocol: its message types, and a translated text for
every reason, stage and follow state it names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from pyscript_app import scoring
from pyscript_app.follow.model import FollowTask
from pyscript_app.matching import Match
from pyscript_app.protocol import (
    FOLLOW_STATES,
    MATCHING_STAGES,
    REASONS,
    REPLY_TYPES,
    REQUEST_TYPES,
    MatchJSON,
    Stage,
)

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "site" / "static" / "matcher.js").read_text(encoding="utf-8")
WORKER = (ROOT / "site" / "static" / "matcher-worker.js").read_text(encoding="utf-8")
TEMPLATE = (ROOT / "site" / "templates" / "match.html").read_text(encoding="utf-8")
UI_KEYS = set(re.findall(r'^\s*"([\w-]+)": js_text\(', TEMPLATE, re.MULTILINE))


def found(pattern: str, text: str) -> set[str]:
    return set(re.findall(pattern, text))


def test_the_scripts_send_and_handle_exactly_the_protocols_requests() -> None:
    asked = (
        found(r'\b(?:ask|askClaim)\("([\w-]+)"', PAGE)
        | found(r'worker\.postMessage\(\{ type: "([\w-]+)"', PAGE)
        | found(r'bootMessage = \{ type: "([\w-]+)"', PAGE)
    )
    handled = found(r'case "([\w-]+)":', WORKER) | found(r'message\.type === "([\w-]+)"', WORKER)
    assert asked == handled == set(REQUEST_TYPES)


def test_the_scripts_post_and_handle_exactly_the_protocols_replies() -> None:
    posted = found(r'\bpost\("([\w-]+)"', WORKER)
    handled = found(r'message\.type === "([\w-]+)"', PAGE)
    assert posted == handled == set(REPLY_TYPES)


def test_every_reason_stage_and_follow_state_has_its_text_on_the_page() -> None:
    assert {f"reason_{reason}" for reason in REASONS} <= UI_KEYS
    assert {f"stage_{stage}" for stage in MATCHING_STAGES} <= UI_KEYS
    assert {"runtime", "posts"} | set(MATCHING_STAGES) == set(get_args(Stage))
    assert {"runtime", "posts"} <= UI_KEYS
    assert {f"follow_{state}" for state in FOLLOW_STATES} <= UI_KEYS


def test_the_page_has_no_text_for_a_reason_the_protocol_does_not_name() -> None:
    """A reason text with no code behind it is a code spelled differently in two places."""
    assert {key.removeprefix("reason_") for key in UI_KEYS if key.startswith("reason_")} == set(REASONS)


def test_the_scoring_reasons_are_protocol_reasons() -> None:
    assert set(REASONS) >= scoring.TIE_REASONS
    assert set(scoring.IDENTITY_REASONS) <= set(REASONS)


def test_a_match_is_sent_with_the_protocols_fields() -> None:
    match = Match("1", "ann", "bluesky", "ann.bsky.social", "high", ["exact_handle"], "following")
    assert set(match.to_json()) == set(MatchJSON.__annotations__)


def test_a_follow_task_state_is_a_protocol_state() -> None:
    assert FollowTask.__dataclass_fields__["state"].default in FOLLOW_STATES
