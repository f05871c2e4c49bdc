"""The membership filter published with each directory: no false negatives, the stated false-positive
rate, a strict reader for hostile files, lookups planned only for the probably listed, and a directory
the person adds never "high" by itself."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from pyscript_app import membership
from pyscript_app.directory import (
    FILTER_MAX_BYTES,
    SHARD_WHEN_NEEDED,
    Manifest,
    bucket_bits_for,
    compile_directory,
    parse_claim,
    plan_lookup,
)
from pyscript_app.graph import PersonGraph
from pyscript_app.matching import Matcher, Settings
from pyscript_app.membership import FilterError, MembershipFilter
from pyscript_app.net import PoliteClient
from tests.fake_network import FakeWorld, serve
from tests.test_hostile_sources import directories_only, hostile
from tests.test_matching import run

LISTED = [str(10**15 + i * 7) for i in range(2_000)]
NOT_LISTED = [str(4 * 10**15 + i) for i in range(100_000)]


def test_every_listed_id_is_found_and_about_one_in_256_others_is_not_told_apart() -> None:
    built = membership.build(LISTED)
    assert all(x_id in built for x_id in LISTED)
    rate = sum(1 for x_id in NOT_LISTED if x_id in built) / len(NOT_LISTED)
    assert 0.5 * membership.FALSE_POSITIVE_RATE < rate < 1.6 * membership.FALSE_POSITIVE_RATE
    read = MembershipFilter.from_bytes(built.to_bytes(), seed=built.seed, entries=len(LISTED))
    assert read == built and len(built.to_bytes()) == membership.filter_bytes(len(LISTED))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 17, 100])
def test_tiny_directories_have_a_filter_without_false_negatives(size: int) -> None:
    ids = LISTED[:size]
    built = MembershipFilter.from_bytes(membership.build(ids).to_bytes())
    assert all(x_id in built for x_id in ids)
    assert size or not any(x_id in built for x_id in NOT_LISTED[:1000])  # an empty filter lists nobody


def test_sizes_stated_in_the_format() -> None:
    assert membership.filter_bytes(1_000_000) == 1_130_528  # 9.04 bits an id
    assert membership.filter_bytes(10_000_000) == 11_272_224  # 9.02 bits an id
    assert membership.filter_bytes(10_000_000) < FILTER_MAX_BYTES


def _header(data: bytes, **changes: object) -> bytes:
    fields = dict(
        zip(
            ("magic", "kind", "zero", "seed", "length", "count", "entries"),
            membership.HEADER.unpack_from(data),
            strict=True,
        )
    )
    fields.update(changes)
    return membership.HEADER.pack(*fields.values()) + data[membership.HEADER.size :]


GOOD = membership.build(LISTED[:300], seed=b"\x01" * 8).to_bytes()
BAD_FILTERS = {
    "truncated": GOOD[:-1],
    "shorter than its header": GOOD[:10],
    "a longer body than announced": GOOD + b"\x00",
    "a lying segment count": _header(GOOD, count=10**9),
    "no segments": _header(GOOD, count=0),
    "a segment length that is not a power of two": _header(GOOD, length=48),
    "a huge segment length": _header(GOOD, length=1 << 30),
    "another kind": _header(GOOD, kind=2),
    "not a filter": b"<html>hello</html>" * 20,
}


@pytest.mark.parametrize("data", BAD_FILTERS.values(), ids=BAD_FILTERS.keys())
def test_a_hostile_filter_file_is_refused(data: bytes) -> None:
    with pytest.raises(FilterError):
        MembershipFilter.from_bytes(data)


def test_a_filter_must_be_the_directorys() -> None:
    with pytest.raises(FilterError, match="seed"):
        MembershipFilter.from_bytes(GOOD, seed=b"\x02" * 8)
    with pytest.raises(FilterError, match="ids"):
        MembershipFilter.from_bytes(GOOD, entries=301)


# --- compiled directories and lookups -------------------------------------------------------------


def compiled(tmp_path: Path, ids: list[str], name: str = "Good directory", folder: str = "") -> Path:
    out = tmp_path / (folder or name.replace(" ", "-"))
    claims = [
        parse_claim(
            {"x_id": x_id, "x_handle": f"u{x_id}", "bluesky": f"listed{x_id}.bsky.social", "updated": "2026-01-01"}
        )
        for x_id in ids
    ]
    compile_directory(claims, out, name)
    return out


def manifest_of(out: Path) -> Manifest:
    return Manifest.from_json(json.loads((out / "directory.json").read_text()))


def test_compile_writes_the_filter_named_by_its_digest(tmp_path: Path) -> None:
    out = compiled(tmp_path, LISTED[:500])
    info = manifest_of(out).filter
    assert info is not None and info.path.startswith("filter-") and info.path[7:23] == info.sha256[:16]
    listed = info.read((out / info.path).read_bytes(), 500)
    assert all(x_id in listed for x_id in LISTED[:500])
    compile_directory(
        [parse_claim({"x_id": "5", "x_handle": "five", "bluesky": "five.bsky.social"} | {"updated": "2026-01-02"})], out
    )
    assert [p.name for p in out.glob("filter-*.bin")] == [manifest_of(out).filter.path]  # the old one is gone


def test_lookups_are_planned_only_for_the_probably_listed() -> None:
    ids = [str(10**15 + i * 7) for i in range(20_000)]
    listed = membership.build(ids)
    bits = bucket_bits_for(len(ids))
    manifest = Manifest(bits, bits - 7, len(ids), len(ids), "2026-01-01")
    wanted = ids[:50] + NOT_LISTED[:4_950]
    with_filter = plan_lookup(manifest, wanted, listed)
    without = plan_lookup(manifest, wanted)
    assert with_filter.shards == [] and 45 <= len(with_filter.buckets) <= 50 + 45  # 0.4 % of 4,950: about 20
    assert len(without.shards) == 1 << manifest.shard_bits  # without it, 5,000 ids read the whole directory


def test_a_few_ids_never_cost_a_whole_shard() -> None:
    manifest = Manifest(10, 3, 8000, 8000, "2026-01-01")
    rng = random.Random(3)
    plan = plan_lookup(manifest, [str(rng.randrange(10**15, 10**16)) for _ in range(SHARD_WHEN_NEEDED * 4)])
    assert plan.shards == []  # 128 ids over 8 shards of 128 buckets: about 16 buckets a shard


def served(out: Path, log: list[str]):
    """Answer a directory's files from disk, as a static server does; 404 for what is not there."""

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        relative = path.split("/dir/", 1)[-1]
        log.append(relative)
        file = out / relative
        return (200, {}, file.read_bytes()) if file.is_file() else (404, {}, b"")

    return answer


def person(wanted: list[str]) -> PersonGraph:
    return PersonGraph(account=None, following=wanted, followers=[])


@pytest.mark.parametrize("with_filter", [True, False], ids=["with a filter", "an older directory without one"])
def test_the_matcher_downloads_the_filter_once_and_asks_buckets_of_the_listed(
    tmp_path: Path, with_filter: bool
) -> None:
    out = compiled(tmp_path, LISTED)
    if not with_filter:
        data = json.loads((out / "directory.json").read_text())
        del data["filter"]
        (out / "directory.json").write_text(json.dumps(data))
    wanted = LISTED[:20] + NOT_LISTED[:600]
    log: list[str] = []
    with hostile(served(out, log)) as (url, _):
        report = run(Matcher(directories_only(f"{url}/dir/"), PoliteClient(attempts=1)), person(wanted))
    assert {m.x_id for m in report.matches} == set(LISTED[:20]) and not report.failures
    assert sum(1 for path in log if path.startswith("filter-")) == (1 if with_filter else 0)
    asked = [path for path in log if path.startswith(("b/", "s/"))]
    if with_filter:
        assert len(asked) <= 20 + 10 and not any(path.startswith("s/") for path in asked)
    else:  # 620 ids in a 2,000-id directory: every shard, the whole directory
        manifest = manifest_of(out)
        assert set(asked) == {manifest.shard_path(s) for s in range(1 << manifest.shard_bits)}


def _rewrite(out: Path, data: bytes, **manifest_changes: object) -> None:
    """Replace the filter with ``data``, and the manifest's description of it as asked."""
    manifest = json.loads((out / "directory.json").read_text())
    (out / manifest["filter"]["path"]).write_bytes(data)
    manifest["filter"].update(manifest_changes)
    (out / "directory.json").write_text(json.dumps(manifest))


def _announced(data: bytes) -> dict[str, object]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


HOSTILE_DIRECTORIES = {
    "a truncated filter, announced as such": lambda good: (good[:-7], _announced(good[:-7])),
    "a lying segment count, announced": lambda good: (_header(good, count=3), _announced(_header(good, count=3))),
    "a filter that is not the announced one": lambda good: (good[::-1], {}),
    "a filter longer than announced": lambda good: (good + bytes(4096), {}),
    "a size past the cap": lambda good: (good, {"bytes": FILTER_MAX_BYTES + 1}),
    "a filter that is missing": lambda good: (good, {"path": "filter-0000000000000000.bin"}),
    "a seed that is not hex": lambda good: (good, {"seed": "zz" * 8}),
}


@pytest.mark.parametrize("change", HOSTILE_DIRECTORIES.values(), ids=HOSTILE_DIRECTORIES.keys())
def test_a_directory_with_a_bad_filter_is_malformed_and_the_other_goes_on(tmp_path: Path, change) -> None:
    bad = compiled(tmp_path, LISTED[:300], "Bad directory")
    good = compiled(tmp_path, LISTED[:3], "Good directory")
    info = manifest_of(bad).filter
    assert info is not None
    data, announced = change((bad / info.path).read_bytes())
    _rewrite(bad, data, **announced)
    log: list[str] = []
    with hostile(served(bad, log)) as (url, _):
        report = run(
            Matcher(directories_only(f"{url}/dir/", f"{good}/"), PoliteClient(attempts=1)), person(LISTED[:300])
        )
    assert {m.x_id for m in report.matches} == set(LISTED[:3])
    assert len(report.failures) == 1 and any(n in report.failures[0].text for n in (f"{url}/dir/", "Bad directory"))
    assert not any(path.startswith(("b/", "s/")) for path in log)  # nothing asked of it past the filter


# --- a directory the person adds --------------------------------------------------------------------


def test_a_directory_the_person_adds_is_never_high_by_itself(tmp_path: Path) -> None:
    site = compiled(tmp_path, LISTED[:2], "Site directory")
    added = compiled(tmp_path, LISTED[1:4], "Site directory copy")  # says the same of LISTED[1], more besides
    impostor = compiled(tmp_path, LISTED[4:5], "Site directory", "impostor")  # takes the site's name
    world = FakeWorld()
    for x_id in LISTED[:5]:
        world.add_bluesky(f"listed{x_id}.bsky.social", f"User {x_id}", did=f"did:plc:u{x_id}")
    with serve(world) as appview:
        settings = Settings(
            bluesky_appview=appview,
            directories=[f"{site}/"],
            added_directories=[f"{added}/", f"{impostor}/", f"{site}/"],
            look_up_names=False,
        )
        report = run(Matcher(settings), person(LISTED[:5]))
    levels = {m.x_id: m.confidence for m in report.matches}
    assert levels == {
        LISTED[0]: "high",
        LISTED[1]: "high",  # a configured directory says the same
        LISTED[2]: "medium",
        LISTED[3]: "medium",
        LISTED[4]: "medium",
    }
    impostor_match = next(m for m in report.matches if m.x_id == LISTED[4])
    assert impostor_match.source == f"{impostor}/"  # shown by its address, not the name it gives itself
    assert not report.failures


def test_the_same_directory_builds_the_same_filter() -> None:
    """The seed comes from the ids: a rebuild (in any order) writes the same bytes; other ids, another seed."""
    ids = [str(10**18 + n * 7919) for n in range(5_000)]
    first = membership.build(ids)
    assert membership.build(list(reversed(ids)) + ids[:10]).to_bytes() == first.to_bytes()
    assert membership.build(ids[1:]).seed != first.seed
