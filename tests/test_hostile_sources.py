"""Directories and servers we do not run, written as an attacker would: each failure stays inside its source."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pyscript_app.directory import ClaimError, Manifest, claim_from_row, claims_in, compile_directory, parse_claim
from pyscript_app.export import bluesky_lists, mastodon_following_lists, neutralise_formula
from pyscript_app.graph import PersonGraph
from pyscript_app.matching import Match, Matcher, Settings
from pyscript_app.net import PoliteClient
from pyscript_app.untrusted import account_link, is_public_host_name, plain_text, safe_avatar
from tests.test_matching import run

ANN, BEN, CLEO = "3000000001", "3000000002", "3000000003"
Answer = Callable[[str], tuple[int, dict[str, str], bytes]]


def graph() -> PersonGraph:
    return PersonGraph(account=None, following=[ANN, BEN, CLEO], followers=[])


def account(user: str, domain: str, **extra: Any) -> dict[str, Any]:
    """A Mastodon Account entity, as ``/api/v1/accounts/lookup`` answers it."""
    return {
        "id": "109" + str(abs(hash(user)) % 10**15),
        "username": user,
        "acct": user,
        "display_name": user.title(),
        "url": f"https://{domain}/@{user}",
        "avatar": f"https://{domain}/avatars/{user}.png",
        "moved": None,
    } | extra


@contextmanager
def hostile(answer: Answer) -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that answers every GET with ``answer(path)``; yields its URL and log."""
    log: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            log.append(self.path)
            status, headers, body = answer(self.path)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading
                self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


def directory(tmp_path: Path, claims: list[dict[str, str]], name: str = "Good directory") -> str:
    out = tmp_path / name.replace(" ", "-")
    compile_directory([parse_claim({"updated": "2026-01-01", **c}) for c in claims], out, name)
    return str(out) + "/"


def manifest(**changes: Any) -> dict[str, Any]:
    return {
        "format": "passerelle-directory",
        "version": 1,
        "name": "Hostile",
        "fields": ["x_id", "x_handle", "bluesky", "mastodon", "updated"],
        "bucket_bits": 4,
        "shard_bits": 0,
        "entries": 1,
        "ids": 1,
        "updated": "2026-01-01",
    } | changes


def hostile_directory(manifest_text: bytes, bucket: bytes = b"[]") -> Answer:
    """A directory whose manifest is ``manifest_text`` and whose first bucket asked is ``bucket``."""
    served: list[str] = []

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        if path.endswith("directory.json"):
            return 200, {}, manifest_text
        served.append(path)
        return 200, {}, bucket if len(served) == 1 else b"[]"

    return answer


def directories_only(*urls: str) -> Settings:
    return Settings(directories=list(urls), directories_only=True)


def accounts(report) -> set[str]:
    return {m.account for m in report.matches}


# --- directories ------------------------------------------------------------------------------------

BAD_MANIFESTS = {
    "infinite bucket bits": b'{"format": "passerelle-directory", "version": 1, "bucket_bits": 1e999}',
    "bucket bits past the format": json.dumps(manifest(bucket_bits=30, shard_bits=23)).encode(),
    "a shard gap that would mean huge shards": json.dumps(manifest(bucket_bits=19, shard_bits=0)).encode(),
    "bucket bits as text": json.dumps(manifest(bucket_bits="4")).encode(),
    "bucket bits as a boolean": json.dumps(manifest(bucket_bits=True, shard_bits=0)).encode(),
    "a negative count": json.dumps(manifest(entries=-1)).encode(),
    "a name that is a dict": json.dumps(manifest(name={"x": 1})).encode(),
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
    "not JSON": b"<html>hello</html>",
}


@pytest.mark.parametrize("body", BAD_MANIFESTS.values(), ids=BAD_MANIFESTS.keys())
def test_a_lying_manifest_is_refused_and_the_other_directory_still_answers(tmp_path: Path, body: bytes) -> None:
    good = directory(tmp_path, [{"x_id": ANN, "x_handle": "ann", "bluesky": "ann.bsky.social"}])
    with hostile(hostile_directory(body)) as (url, _log):
        report = run(Matcher(directories_only(f"{url}/dir/", good), PoliteClient(attempts=1)), graph())
    assert accounts(report) == {"ann.bsky.social"}
    assert len(report.failures) == 1 and f"{url}/dir/" in report.failures[0].text


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        (b"[" * 50_000 + b"]" * 50_000, "could not be understood"),
        (b"[" + b"0," * 700_000 + b"0]", "too large to read"),
        (b'{"rows": []}', "could not be understood"),
    ],
    ids=["deep", "huge", "not a list"],
)
def test_a_hostile_bucket_fails_its_directory_alone(tmp_path: Path, bucket: bytes, expected: str) -> None:
    good = directory(tmp_path, [{"x_id": ANN, "x_handle": "ann", "bluesky": "ann.bsky.social"}])
    with hostile(hostile_directory(json.dumps(manifest()).encode(), bucket)) as (url, _log):
        report = run(Matcher(directories_only(f"{url}/dir/", good), PoliteClient(attempts=1)), graph())
    assert accounts(report) == {"ann.bsky.social"}
    assert [expected in failure.text for failure in report.failures] == [True]


def test_rows_of_the_wrong_types_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [
        [BEN, {"evil": 1}, "ben.bsky.social", None, "2026-01-01"],  # a dict where text belongs
        [CLEO, "cleo", None, "=1+2@evil.social", "2026-01-01"],  # a formula, not an address
        [ANN, "ann", None, "ann@127.0.0.1", "2026-01-01"],  # an IP address, not a server name
        [ANN, "ann", "ann.bsky.social", None, "2026-01-01"],  # the one good row
        [int(ANN), "ann", "x.bsky.social", None, "2026-01-01"],  # a number where text belongs
    ]
    with hostile(hostile_directory(json.dumps(manifest()).encode(), json.dumps(rows).encode())) as (url, _log):
        report = run(Matcher(directories_only(f"{url}/dir/"), PoliteClient(attempts=1)), graph())
    assert accounts(report) == {"ann.bsky.social"}
    assert [f.text for f in report.failures] == ["Hostile has 4 entries that are not valid; they were skipped."]


@pytest.mark.parametrize(
    "row",
    [
        ["1", "a", "a.bsky.social", None],
        ["1", "a", "A.BSKY.SOCIAL", None, "2026-01-01"],  # not as compile writes it
        ["1", "a", "javascript:alert(1)", None, "2026-01-01"],
        ["1", "a", None, "alice@social.example:8080", "2026-01-01"],
        ["1", "a", None, None, "2026-01-01"],
        "a string",
    ],
)
def test_claim_from_row_is_as_strict_as_compile(row: Any) -> None:
    with pytest.raises(ClaimError):
        claim_from_row(row)


def test_claims_in_skips_what_it_does_not_want_without_validating_it() -> None:
    found, bad = claims_in([["999", {"x": 1}], [ANN, "ann", "ann.bsky.social", None, "2026-01-01"]], {ANN})
    assert [c.bluesky for c in found] == ["ann.bsky.social"] and bad == 0


def test_manifest_limits() -> None:
    assert Manifest.from_json(manifest(bucket_bits=19, shard_bits=12)).bucket_bits == 19
    with pytest.raises(ValueError):
        Manifest.from_json(manifest(bucket_bits=20, shard_bits=13))


# --- Mastodon servers ---------------------------------------------------------------------------------


def mastodon_directory(tmp_path: Path, addresses: dict[str, str]) -> str:
    claims = [{"x_id": x_id, "x_handle": f"p{x_id[-1]}", "mastodon": address} for x_id, address in addresses.items()]
    return directory(tmp_path, claims)


def test_a_huge_answer_is_not_read_and_the_other_server_goes_on(tmp_path: Path) -> None:
    huge = json.dumps(account("ann", "huge.social", note="x" * 400_000)).encode()
    with (
        hostile(lambda path: (200, {}, huge)) as (huge_url, _),
        hostile(lambda path: (200, {}, json.dumps(account("ben", "fine.social")).encode())) as (fine_url, _),
    ):
        settings = Settings(
            directories=[mastodon_directory(tmp_path, {ANN: "ann@huge.social", BEN: "ben@fine.social"})],
            mastodon_instance_urls={"huge.social": huge_url, "fine.social": fine_url},
            look_up_names=False,
        )
        report = run(Matcher(settings, PoliteClient(attempts=1)), graph())
    by_account = {m.account: m for m in report.matches}
    assert by_account["ben@fine.social"].confidence == "high"
    assert "not_checked" in by_account["ann@huge.social"].reasons  # kept, said unchecked
    assert [f.text for f in report.failures] == [
        "huge.social sent an answer too large to read; its results are missing."
    ]


def test_a_slow_server_does_not_hold_the_others(tmp_path: Path) -> None:
    def slow(path: str) -> tuple[int, dict[str, str], bytes]:
        time.sleep(1.0)
        return 200, {}, b"{}"

    addresses = {str(4_000_000_000 + i): f"u{i}@slow.social" for i in range(12)} | {BEN: "ben@fine.social"}
    with (
        hostile(slow) as (slow_url, slow_log),
        hostile(lambda path: (200, {}, json.dumps(account("ben", "fine.social")).encode())) as (fine_url, _),
    ):
        settings = Settings(
            directories=[mastodon_directory(tmp_path, addresses)],
            mastodon_instance_urls={"slow.social": slow_url, "fine.social": fine_url},
            look_up_names=False,
        )
        client = PoliteClient(attempts=1, concurrency=2, timeout=0.4, host_deadline=1.0)
        people = PersonGraph(account=None, following=[BEN, *addresses], followers=[])
        started = time.monotonic()
        report = run(Matcher(settings, client), people)
    assert time.monotonic() - started < 8
    assert {m.account: m.confidence for m in report.matches}["ben@fine.social"] == "high"
    assert len(slow_log) <= 4  # given up after its deadline, not asked twelve times
    assert any("slow.social" in f.text for f in report.failures)


def test_a_redirect_to_a_private_address_is_not_followed(tmp_path: Path) -> None:
    with hostile(lambda path: (200, {}, b'{"secret": true}')) as (private_url, private_log):
        redirect = {"Location": f"{private_url}/admin"}
        with hostile(lambda path: (302, redirect, b"")) as (url, _):
            settings = Settings(
                directories=[mastodon_directory(tmp_path, {ANN: "ann@redirect.social"})],
                mastodon_instance_urls={"redirect.social": url},
                look_up_names=False,
            )
            report = run(Matcher(settings, PoliteClient(attempts=1)), graph())
    assert private_log == []
    assert any("redirect.social could not be reached" in f.text for f in report.failures)


@pytest.mark.parametrize("target", ["evil@127.0.0.1", "evil@localhost", "evil@intranet.local", "x@a.social:8080"])
def test_a_move_to_a_private_address_is_not_followed(tmp_path: Path, target: str) -> None:
    moved = account("ann", "old.social", moved=account("evil", "x", acct=target))
    with hostile(lambda path: (200, {}, json.dumps(moved).encode())) as (url, log):
        settings = Settings(
            directories=[mastodon_directory(tmp_path, {ANN: "ann@old.social"})],
            mastodon_instance_urls={"old.social": url},
            look_up_names=False,
        )
        report = run(Matcher(settings, PoliteClient(attempts=1)), graph())
    assert len(log) == 1 and report.matches == []


def test_links_and_avatars_from_a_server_are_checked(tmp_path: Path) -> None:
    answer = account(
        "ann",
        "fine.social",
        url="https://phishing.example.net/@ann",
        avatar="http://10.0.0.1/a.png",
        display_name="A\u202eB",
    )
    with hostile(lambda path: (200, {}, json.dumps(answer).encode())) as (url, _):
        settings = Settings(
            directories=[mastodon_directory(tmp_path, {ANN: "ann@fine.social"})],
            mastodon_instance_urls={"fine.social": url},
            look_up_names=False,
        )
        (match,) = run(Matcher(settings, PoliteClient(attempts=1)), graph()).matches
    assert match.url == "https://fine.social/@ann" and match.avatar == "" and match.display_name == "A B"


# --- the small rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("mastodon.social", True),
        ("social.fakenet.org", True),
        ("127.0.0.1", False),
        ("localhost", False),
        ("[::1]", False),
        ("router.local", False),
        ("a.social:8080", False),
        ("a.social/path", False),
        ("user@a.social", False),
        ("", False),
        ("a" * 300 + ".org", False),
    ],
)
def test_public_host_names(host: str, public: bool) -> None:
    assert is_public_host_name(host) is public


def test_avatars_only_over_https_from_public_hosts() -> None:
    assert safe_avatar("https://cdn.bsky.app/img/a.jpg") == "https://cdn.bsky.app/img/a.jpg"
    for url in (
        "http://cdn.bsky.app/a.jpg",
        "https://127.0.0.1/a.jpg",
        "https://u:p@cdn.example.org/a",
        "javascript:x",
    ):
        assert safe_avatar(url) == ""


def test_profile_links_only_on_the_accounts_own_host() -> None:
    assert account_link("https://a.social/@x", {"a.social"}, "F") == "https://a.social/@x"
    assert account_link("https://b.social/@x", {"a.social"}, "F") == "F"
    assert account_link("javascript:alert(1)", {"a.social"}, "F") == "F"


def test_names_lose_hidden_characters_and_are_capped() -> None:
    assert plain_text("Ann\u202e\u2066 Smith\n", 100) == "Ann   Smith"
    assert plain_text("x" * 500, 120) == "x" * 120
    assert plain_text({"not": "text"}, 10) == ""


@pytest.mark.parametrize("cell", ['=HYPERLINK("https://evil","x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_would_run_as_formulas_are_neutralised(cell: str) -> None:
    assert neutralise_formula(cell) == "'" + cell
    assert neutralise_formula("Ann Smith") == "Ann Smith"


def test_exports_never_carry_a_formula_or_a_non_address() -> None:
    evil = Match("1", "x", "mastodon", "=1+2@evil.social", "high", [], "following")
    good = Match("2", "y", "mastodon", "dan@social.fakenet.org", "high", [], "following")
    sky = Match("3", "z", "bluesky", "z.bsky.social", "high", [], "following", display_name="=HYPERLINK(1)")
    (mastodon,) = mastodon_following_lists([evil, good])
    assert "evil" not in mastodon.text and "dan@social.fakenet.org" in mastodon.text
    csv_file = bluesky_lists([sky])[0]
    assert ",'=HYPERLINK(1)," in csv_file.text
