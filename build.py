#!/usr/bin/env python3
"""Passerelle's build script: ``build``, ``serve`` and the ``i18n`` catalog commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sitebuild.catalogs import (
    check_catalogs,
    compile_catalogs,
    extract_messages,
    format_status,
    init_catalog,
    language_status,
    update_catalogs,
)
from sitebuild.config import Config, load_config
from sitebuild.errors import BuildError
from sitebuild.harvest import HarvestError, State, progress_printer, run_harvest, write_atomically
from sitebuild.render import build_site
from sitebuild.runtime import compile_claims
from sitebuild.security import security_headers
from sitebuild.serve import serve

ROOT = Path(__file__).resolve().parent


def command_build(config: Config, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    written = build_site(config, args.out)
    print(f"Built {len(written)} files into {args.out} in {time.perf_counter() - started:.2f} s")
    return 0


def command_serve(config: Config, args: argparse.Namespace) -> int:
    command_build(config, args)
    serve(args.out, args.port, security_headers(config))
    return 0


def command_i18n(config: Config, args: argparse.Namespace) -> int:
    action = args.action
    if action == "extract":
        print(f"Wrote {extract_messages(config)}")
    elif action == "update":
        for path in update_catalogs(config):
            print(f"Updated {path}")
    elif action == "init":
        if not args.language:
            raise BuildError("'i18n init' needs a language code, for example: python build.py i18n init pl")
        print(f"Created {init_catalog(config, args.language)}: translate it, then run 'python build.py i18n check'")
    elif action == "compile":
        for path in compile_catalogs(config):
            print(f"Compiled {path}")
    elif action == "status":
        print(format_status(language_status(config)))
    elif action == "check":
        problems = check_catalogs(config)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem(s) found", file=sys.stderr)
            return 1
        print("All catalogs are fine.")
    return 0


def command_directory(config: Config, args: argparse.Namespace) -> int:
    if args.action == "harvest":
        return command_harvest(config, args)
    if not args.sources:
        raise BuildError("'directory compile' needs the JSON Lines files of claims to compile")
    kept, problems = compile_claims(args.sources, args.out, args.name, args.self_published)
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    print(f"Compiled {kept} claims into {args.out} ({len(problems)} line(s) skipped)")
    return 0


def command_harvest(config: Config, args: argparse.Namespace) -> int:
    if not args.relay and not args.pds and not args.mastodon_tag:
        raise BuildError("'directory harvest' needs --relay URL, --pds URL or --mastodon-tag URL")
    if args.sources:
        raise BuildError("'directory harvest' takes no claims files: it writes --out")
    collection = str(config.extra.get("claim_collection", "org.passerelle.x.claim"))
    plc_url = str(config.extra.get("plc_directory_url", "https://plc.directory"))
    try:
        state = State.load(args.state)
        report = asyncio.run(
            run_harvest(
                args.relay, args.pds, state, collection, plc_url, args.state,
                None if args.quiet else progress_printer(), per_host=args.per_host,
                mastodon_tags=args.mastodon_tag,
            )
        )
    except HarvestError as error:
        raise BuildError(str(error)) from None
    if not args.quiet:
        print(file=sys.stderr)
    lines = state.claim_lines()
    write_atomically(args.out, "".join(f"{line}\n" for line in lines))
    for reason, count in sorted(report.skipped.items()):
        print(f"skipped {count} record(s): {reason}", file=sys.stderr)
    for host, why in sorted(report.given_up.items()):
        print(f"gave up on {host}: {why}; its repositories keep their previous claims", file=sys.stderr)
    for failure in report.failed_sources:
        print(f"listing failed, nothing dropped, the next run goes on from here: {failure}", file=sys.stderr)
    print(
        f"Wrote {len(lines)} claims to {args.out}: {report.repos_listed} repositories listed, {report.repos_read} read,"
        f" {report.repos_unchanged} unchanged, {report.repos_dropped} withdrawn, {report.kept_unread} kept unread"
    )
    return 1 if report.failed_sources else 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="build.py", description=__doc__)
    main.add_argument("--config", type=Path, help="a TOML file whose keys override [tool.passerelle]")
    commands = main.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="render the site into a folder")
    build.add_argument("--out", type=Path, default=ROOT / "_site", help="output folder (default: _site)")
    build.set_defaults(run=command_build)
    run = commands.add_parser("serve", help="build, then serve the site on 127.0.0.1")
    run.add_argument("--out", type=Path, default=ROOT / "_site", help="output folder (default: _site)")
    run.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    run.set_defaults(run=command_serve)
    i18n = commands.add_parser("i18n", help="translation catalogs")
    i18n.add_argument("action", choices=["extract", "update", "init", "compile", "status", "check"])
    i18n.add_argument("language", nargs="?", help="language code, for 'init' (e.g. pl, pt_BR)")
    i18n.set_defaults(run=command_i18n)
    directory = commands.add_parser("directory", help="opt-in directories keyed by X id")
    directory.add_argument("action", choices=["compile", "harvest"])
    directory.add_argument("sources", nargs="*", type=Path, help="compile: JSON Lines files of claims")
    directory.add_argument(
        "--out", type=Path, required=True, help="compile: folder to write into; harvest: the claims file to write"
    )
    directory.add_argument("--name", default="", help="compile: the directory's name, shown with its matches")
    directory.add_argument("--relay", action="append", default=[], help="harvest: a relay's URL (repeatable)")
    directory.add_argument("--pds", action="append", default=[], help="harvest: one PDS's URL (repeatable)")
    directory.add_argument("--mastodon-tag", action="append", default=[], metavar="URL",
                           help="harvest: a Mastodon server whose public #PasserelleMoved posts are read (repeatable)")
    directory.add_argument("--state", type=Path, help="harvest: state file, for incremental and resumed runs")
    directory.add_argument("--per-host", type=int, default=4, help="harvest: requests at once per server (4)")
    directory.add_argument("--quiet", action="store_true", help="harvest: no progress line")
    directory.add_argument(
        "--self-published", action="store_true",
        help="compile: the claims come from 'directory harvest' (each published by its own account: a match "
             "needs the profile's agreement to be high)",
    )
    directory.set_defaults(run=command_directory)
    for sub in (build, run):
        sub.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="override file")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO)
    try:
        config = load_config(ROOT, args.config)
        return args.run(config, args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
