"""Command line twin of the matcher page: ``python -m pyscript_app inspect|match|follow … [--json]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .archive import read_archive
from .config_file import passerelle_table
from .follow import cli as follow_cli
from .matching import Matcher, Settings
from .notices import ArchiveError

MATCH_FIELDS = ("x_id", "x_handle", "network", "account", "did", "confidence", "reasons")
EVIDENCE_FIELDS = ("evidence", "chance", "ties")  # for heuristic Bluesky matches: reasons with weights


def print_summary(summary: dict[str, Any]) -> None:
    account = summary["account"]
    if account:
        name = f" ({account['display_name']})" if account.get("display_name") else ""
        print(f"Account: @{account['username']}{name}, id {account['id']}")
    else:
        print("Account: not in what was picked")
    print(f"Following: {summary['following']}")
    print(f"Followers: {summary['followers']}")
    print(f"Blocked: {summary['blocked']}, muted: {summary['muted']}")
    print(f"Named by the archive: {summary['named']}")
    for warning in summary["warnings"]:
        print(f"Warning: {warning}")


def command_inspect(args: argparse.Namespace) -> int:
    graph = read_archive(args.paths)
    summary = graph.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print_summary(summary)
    return 0


def load_settings(path: Path | None) -> Settings:
    """Matching settings from a TOML file (``[tool.passerelle]`` or top level); local directory
    paths are relative to the file."""
    if path is None:
        return Settings()
    settings = Settings.from_json(passerelle_table(path))
    settings.directories = [d if "://" in d else str((path.parent / d).resolve()) for d in settings.directories]
    settings.added_directories = [
        d if "://" in d else str((path.parent / d).resolve()) for d in settings.added_directories
    ]
    return settings


def command_match(args: argparse.Namespace) -> int:
    graph = read_archive(args.paths)
    matcher = Matcher(load_settings(args.config))
    report = asyncio.run(matcher.run(graph))
    matches = [
        {key: getattr(m, key) for key in MATCH_FIELDS}
        | ({key: getattr(m, key) for key in EVIDENCE_FIELDS} if m.evidence else {})
        | ({"choice": m.choice} if m.choice else {})
        for m in report.matches
    ]
    stats = report.stats | {"failures": [f.text for f in report.failures]}
    if args.json:
        print(json.dumps({"matches": matches, "stats": stats}, ensure_ascii=False))
    else:
        for m in matches:
            who = f"@{m['x_handle']}" if m["x_handle"] else m["x_id"]
            print(f"{m['confidence']:<6} {who} -> {m['network']} {m['account']} ({', '.join(m['reasons'])})")
        for failure in stats["failures"]:
            print(f"Warning: {failure}")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m pyscript_app", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="read an X archive: a zip, its unzipped folder, or loose files")
    inspect.add_argument("paths", nargs="+", help="the zip, the folder, or following.js, follower.js …")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=command_inspect)
    match = commands.add_parser("match", help="find the archive's people on Bluesky and Mastodon")
    match.add_argument("paths", nargs="+", help="the zip, the folder, or following.js, follower.js …")
    match.add_argument("--config", type=Path, help="TOML: bluesky_appview, directories, mastodon_instance_urls")
    match.add_argument("--json", action="store_true", help="print one JSON object")
    match.set_defaults(run=command_match)
    follow_cli.add_parser(commands)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ArchiveError as error:
        print(f"error: {error.notice.text}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the archive is too large for this computer's memory", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
