"""The demo's networks as static files: a fictional Bluesky and Mastodon, answered once at build time.

``site/demo/networks.json`` describes a few fictional accounts on reserved ``.example`` domains.
The build matches the sample archive with the app's own code (:class:`pyscript_app.matching.Matcher`)
against that world (:class:`sitebuild.network_world.NetworkWorld`, the real response shapes),
records every answer, and writes the successful ones as ``assets/demo/networks/<name>.json``
(:func:`pyscript_app.replay.replay_name`). In the browser, "Try the sample" runs the same matcher
with :func:`pyscript_app.replay.replaying`: every request is answered by one of those files, on
the site's own origin. Avatars are drawn here (initials on a colour), never fetched.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pyscript_app._compat import Response
from pyscript_app.archive import read_archive
from pyscript_app.matching import Matcher, Settings
from pyscript_app.net import PoliteClient
from pyscript_app.replay import replay_name

from .errors import BuildError
from .network_world import NetworkWorld

DEMO_NETWORKS = "assets/demo/networks/"
DEMO_AVATARS = "assets/demo/avatars/"
APPVIEW = "https://appview.demo.example"
# The recorded answers name avatars here; the page reads them from DEMO_AVATARS instead.
AVATAR_ORIGIN = "https://avatars.demo.example/"
# Where the recording finds the demo's directory; the page asks the site's own copy.
SITE = "https://site.demo.example/"


def load_world(path: Path) -> NetworkWorld:
    """The fictional world of ``networks.json``, with an avatar for everybody."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        world = NetworkWorld()
        for person in data["bluesky"]:
            profile = world.add_bluesky(
                str(person["handle"]), str(person["name"]), str(person.get("bio", "")),
                labels=[str(v) for v in person.get("labels", [])], followers=int(person.get("followers", 10)),
            )
            world.avatars[profile["did"]] = AVATAR_ORIGIN + avatar_file(profile["handle"])
        by_handle = world.by_handle()
        for person in data["bluesky"]:
            for followed in person.get("follows", []):
                world.follow(by_handle[person["handle"]]["did"], by_handle[str(followed)]["did"])
        for account in data["mastodon"]:
            address = str(account["address"]).lower()
            world.add_mastodon(address, str(account["name"]), moved_to=account.get("moved_to"))
            world.avatars[address] = AVATAR_ORIGIN + avatar_file(address)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BuildError(f"{path}: not a demo world ({error})") from None
    return world


def avatar_file(account: str) -> str:
    return hashlib.sha256(account.encode()).hexdigest()[:16] + ".svg"


def avatar_svg(name: str, account: str) -> str:
    """A round picture with the name's initials on a colour of its own."""
    initials = "".join(word[0] for word in name.split()[:2] if word).upper() or "?"
    hue = int(hashlib.sha256(account.encode()).hexdigest()[:4], 16) / 0xFFFF
    red, green, blue = (round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.42, 0.55))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96">'
        f'<circle cx="48" cy="48" r="48" fill="#{red:02x}{green:02x}{blue:02x}"/>'
        '<text x="48" y="48" dy=".35em" text-anchor="middle" fill="#fff" '
        f'font-family="system-ui,sans-serif" font-size="38" font-weight="600">{escape(initials)}</text></svg>\n'
    )


class Recorder:
    """Answers the matcher's requests from the world and keeps every answer by URL."""

    def __init__(self, world: NetworkWorld, directory: Path) -> None:
        self.world = world
        self.directory = directory
        self.answers: dict[str, tuple[int, bytes]] = {}

    async def fetch(self, url: str, timeout: float, max_bytes: int) -> Response:
        if url.startswith(SITE):
            return self._site_file(url.removeprefix(SITE))
        parts = urlsplit(url)
        here = f"{parts.scheme}://{parts.netloc}"
        domain = "" if here == APPVIEW else parts.netloc
        answer = self.world.answer(parts.path, parse_qs(parts.query), here, domain)
        status, value = answer if answer is not None else (404, {"error": "NotFound"})
        body = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
        self.answers[url] = (status, body)
        return Response(status, body)

    def _site_file(self, relative: str) -> Response:
        file = self.directory.parent / relative
        return Response(200, file.read_bytes()) if file.is_file() else Response(404, b"")


def record(world: NetworkWorld, archive: Path, directory: Path) -> dict[str, bytes]:
    """The files of the recording: the body of every successful answer, by replay name."""
    recorder = Recorder(world, directory)
    settings = Settings(
        bluesky_appview=APPVIEW, directories=[SITE + directory.name + "/"], replay=SITE + DEMO_NETWORKS
    )
    matcher = Matcher(settings, PoliteClient(fetcher=recorder.fetch))
    graph = read_archive([archive])
    with ThreadPoolExecutor(1) as thread:  # its own event loop, whoever calls the build (a test's loop)
        report = thread.submit(asyncio.run, matcher.run(graph)).result()
    if report.failures:
        raise BuildError("the demo's networks did not answer: " + "; ".join(str(f.to_json()) for f in report.failures))
    return {replay_name(url): body for url, (status, body) in recorder.answers.items() if status == 200}


def write_demo_networks(source: Path, archive: Path, directory: Path, out: Path) -> int:
    """Record the sample's run against the world of ``source`` and write it, with the avatars, into
    ``out``; returns the number of answers written."""
    world = load_world(source)
    networks = out / DEMO_NETWORKS
    networks.mkdir(parents=True, exist_ok=True)
    answers = record(world, archive, directory)
    for name, body in answers.items():
        (networks / name).write_bytes(body)
    avatars = out / DEMO_AVATARS
    avatars.mkdir(parents=True, exist_ok=True)
    people: list[tuple[str, Any]] = [(p["handle"], p["displayName"]) for p in world.bluesky.values()]
    people += [(address, account["display_name"]) for address, account in world.mastodon.items()]
    for account, name in people:
        (avatars / avatar_file(account)).write_text(avatar_svg(str(name), account), encoding="utf-8")
    return len(answers)
