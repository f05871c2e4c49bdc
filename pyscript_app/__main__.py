"""Command line twin of the matcher page: ``python -m pyscript_app inspect PATH... [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .archive import read_archive
from .notices import ArchiveError


def print_summary(summary: dict) -> None:
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


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m pyscript_app", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="read an X archive: a zip, its unzipped folder, or loose files")
    inspect.add_argument("paths", nargs="+", help="the zip, the folder, or following.js, follower.js …")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=command_inspect)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ArchiveError as error:
        print(f"error: {error.notice.text}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the archive is too large for this computer's memory", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
