"""Opt-in directories keyed by X account id: a static, versioned format any web server can host.

Layout of a compiled directory (``python build.py directory compile``)::

    directory.json          {"format": "passerelle-directory", "version": 1, "bucket_bits": P,
                             "shard_bits": S, "fields": [...], "entries": N, "ids": M, ...,
                             "filter": {"path": "filter-<hex>.bin", "bytes": B, "seed": "<16 hex>",
                                        "sha256": "<64 hex>"}}
    filter-<hex>.bin        a membership filter of the M ids (:mod:`pyscript_app.membership`)
    b/<bucket>.json         the claims of every id whose SHA-256 starts with that P-bit prefix
    s/<shard>.json          the same claims grouped by S-bit prefix (S = P - 7): 128 buckets each

Privacy: a request names a hash prefix, never an id. A P-bit bucket covers 1/2**P of all X
ids, so with about 10**9 ids in existence, even P = 19 leaves thousands of X accounts behind
each request (k-anonymity). Lookups fetch a bucket per id needed, or a whole shard when a
person needs many buckets of it, so 5,000 ids read about 1 % of a 10-million-entry directory.
Conflicting claims for one id are all kept; the matcher shows each with its source.

The filter (optional: directories compiled before it still work) is downloaded once per run, and
buckets are asked only for the ids it says are probably listed: the requests then name the people
who chose to be found, plus about 0.4 % of the others (its false positives), and 5,000 contacts
of whom 500 are listed cost about 520 bucket requests instead of 4,900. Its ``sha256`` is checked
and its header read strictly; a filter that does not pass makes the directory malformed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import membership

FORMAT = "passerelle-directory"
VERSION = 1
FIELDS = ("x_id", "x_handle", "bluesky", "mastodon", "updated")
ENTRIES_PER_BUCKET = 8
MIN_BUCKET_BITS = 4
MAX_BUCKET_BITS = 19
BUCKETS_PER_SHARD_BITS = 7
# Fetch the whole shard (128 buckets) when this many of its buckets are needed: a shard costs as
# many bytes as all of its buckets, so only a person who needs a good share of them gains by it.
SHARD_WHEN_NEEDED = 32
MAX_COUNT = 10**10  # more claims than X has accounts is a lie
# What the matcher reads of a directory at the most, per kind of file.
MANIFEST_MAX_BYTES = 64 * 1024
BUCKET_MAX_BYTES = 1024 * 1024
SHARD_MAX_BYTES = 8 * 1024 * 1024
FILTER_MAX_BYTES = 24 * 1024 * 1024  # a 10,000,000-id filter is 11.3 MB
FILTER_NAME = re.compile(r"^filter-[0-9a-f]{16}\.bin\Z")
HEX_SEED = re.compile(r"^[0-9a-f]{16}\Z")
HEX_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")

X_ID = re.compile(r"^[1-9][0-9]{0,24}\Z")
HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}\Z")
BLUESKY = re.compile(r"^(did:(plc|web):[A-Za-z0-9._:%-]+|([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*)\Z")
MASTODON = re.compile(r"^@?[A-Za-z0-9_.-]+@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*\Z")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class Claim:
    """One statement: this X account is (also) that Bluesky and/or Mastodon account."""

    x_id: str
    x_handle: str  # "" when the claim does not say
    bluesky: str | None
    mastodon: str | None
    updated: str  # "" when the claim does not say

    def row(self) -> list[str | None]:
        return [self.x_id, self.x_handle or None, self.bluesky, self.mastodon, self.updated or None]


class ClaimError(ValueError):
    """A line of a claims file that cannot be used; the message names the problem."""


def parse_claim(value: Any) -> Claim:
    """Validate one JSON Lines claim; addresses are normalised to lower case without a leading @.
    ``x_id`` is the key; ``x_handle`` and ``updated`` may be left out (or null). Other keys are
    ignored (the harvest's ``mastodon_unverified`` among them: it is not a proven address)."""
    if not isinstance(value, dict):
        raise ClaimError("a claim must be a JSON object")
    x_id = str(value.get("x_id", ""))
    if not X_ID.match(x_id):
        raise ClaimError(f"x_id must be a decimal X account id, not {value.get('x_id')!r}")
    x_handle = str(value.get("x_handle") or "").lstrip("@")
    if x_handle and not HANDLE.match(x_handle):
        raise ClaimError(f"x_handle must be an X username, not {value.get('x_handle')!r}")
    bluesky = value.get("bluesky") or None
    mastodon = value.get("mastodon") or None
    if bluesky is None and mastodon is None:
        raise ClaimError("a claim needs 'bluesky', 'mastodon' or both")
    if bluesky is not None:
        bluesky = str(bluesky).lstrip("@")
        bluesky = bluesky if bluesky.startswith("did:") else bluesky.lower()
        if not BLUESKY.match(bluesky):
            raise ClaimError(f"bluesky must be a handle or a DID, not {value.get('bluesky')!r}")
    if mastodon is not None:
        mastodon = str(mastodon).lower().lstrip("@")
        if not MASTODON.match(mastodon):
            raise ClaimError(f"mastodon must be an address like user@server, not {value.get('mastodon')!r}")
    updated = str(value.get("updated") or "")
    if updated and not DATE.match(updated):
        raise ClaimError(f"updated must be a date like 2026-01-31, not {value.get('updated')!r}")
    return Claim(x_id, x_handle, bluesky, mastodon, updated)


def claim_from_row(row: Any) -> Claim:
    """A row of a bucket or shard file, validated as strictly as ``directory compile`` does."""
    if not isinstance(row, list) or len(row) != len(FIELDS):
        raise ClaimError(f"a directory row must be a list of {len(FIELDS)} values")
    if not all(value is None or isinstance(value, str) for value in row):
        raise ClaimError("every value of a directory row must be text or null")
    claim = parse_claim(dict(zip(FIELDS, row, strict=True)))
    if claim.row() != row:
        raise ClaimError("a directory row must be written as 'directory compile' writes it")
    return claim


def _whole_number(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"'{key}' must be a whole number from {low} to {high}")
    return value


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"'{key}' must be text of at most {limit} characters")
    return value


def bucket_bits_for(entries: int) -> int:
    """About ENTRIES_PER_BUCKET ids a bucket, within bounds."""
    wanted = math.ceil(math.log2(max(entries, 1) / ENTRIES_PER_BUCKET)) if entries > ENTRIES_PER_BUCKET else 0
    return min(max(wanted, MIN_BUCKET_BITS), MAX_BUCKET_BITS)


def id_prefix(x_id: str, bits: int) -> int:
    """The first ``bits`` bits of the id's SHA-256, as a number."""
    digest = hashlib.sha256(x_id.encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - bits) if bits else 0


def prefix_name(prefix: int, bits: int) -> str:
    return format(prefix, "x").zfill(max(1, math.ceil(bits / 4)))


@dataclass(frozen=True)
class FilterInfo:
    """Where a directory's membership filter is, and what it must be."""

    path: str
    size: int
    seed: bytes
    sha256: str

    @classmethod
    def from_json(cls, data: Any) -> FilterInfo:
        if not isinstance(data, dict):
            raise ValueError("'filter' must be an object")
        path, seed, sha256 = (_text(data, k, 80) for k in ("path", "seed", "sha256"))
        if not FILTER_NAME.match(path) or not HEX_SEED.match(seed) or not HEX_SHA256.match(sha256):
            raise ValueError("'filter' must name its file, seed and SHA-256 as 'directory compile' does")
        size = _whole_number(data, "bytes", membership.HEADER.size, FILTER_MAX_BYTES)
        return cls(path, size, bytes.fromhex(seed), sha256)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.size, "seed": self.seed.hex(), "sha256": self.sha256}

    def read(self, data: bytes, ids: int) -> membership.MembershipFilter:
        """The downloaded filter, if it is the one announced; FilterError otherwise."""
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            raise membership.FilterError("the filter is not the one the directory announces")
        return membership.MembershipFilter.from_bytes(data, seed=self.seed, entries=ids)


@dataclass(frozen=True)
class Manifest:
    bucket_bits: int
    shard_bits: int
    entries: int
    ids: int
    updated: str
    name: str = ""
    filter: FilterInfo | None = None
    # Every claim was published by the account it names (harvested records and posts): it proves
    # that account's side only, so the matcher wants corroboration before it says "high".
    self_published: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """A manifest within the format's limits; ValueError for anything else."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a Passerelle directory")
        if data.get("version") != VERSION:
            raise ValueError("this directory format version is not supported")
        if data.get("fields") != list(FIELDS):
            raise ValueError("unexpected fields")
        bucket_bits = _whole_number(data, "bucket_bits", 0, MAX_BUCKET_BITS)
        shard_bits = _whole_number(data, "shard_bits", max(bucket_bits - BUCKETS_PER_SHARD_BITS, 0), bucket_bits)
        return cls(
            bucket_bits,
            shard_bits,
            _whole_number(data, "entries", 0, MAX_COUNT),
            _whole_number(data, "ids", 0, MAX_COUNT),
            _text(data, "updated", 40),
            _text(data, "name", 200),
            FilterInfo.from_json(data["filter"]) if "filter" in data else None,
            _flag(data, "self_published"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "fields": list(FIELDS),
            "bucket_bits": self.bucket_bits,
            "shard_bits": self.shard_bits,
            "entries": self.entries,
            "ids": self.ids,
            "updated": self.updated,
            **({"filter": self.filter.to_json()} if self.filter else {}),
            **({"self_published": True} if self.self_published else {}),
        }

    def bucket_path(self, prefix: int) -> str:
        return f"b/{prefix_name(prefix, self.bucket_bits)}.json"

    def shard_path(self, prefix: int) -> str:
        return f"s/{prefix_name(prefix, self.shard_bits)}.json"


# --- compiling ------------------------------------------------------------------------------------


def read_claims(paths: Iterable[Path]) -> Iterator[tuple[Path, int, Claim | ClaimError]]:
    """Every line of the JSON Lines files, parsed, or the reason it cannot be used."""
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if "\ufffd" in line:
                    yield path, number, ClaimError("not UTF-8 text")
                    continue
                try:
                    yield path, number, parse_claim(json.loads(line))
                except json.JSONDecodeError as error:
                    yield path, number, ClaimError(f"not JSON: {error.msg}")
                except RecursionError:
                    yield path, number, ClaimError("not JSON: nested too deep")
                except ClaimError as error:
                    yield path, number, error


def compile_directory(
    claims: Iterable[Claim], out: Path, name: str = "", self_published: bool = False
) -> Manifest:
    """Write a directory: identical claims once, different claims for one id all kept.
    ``self_published``: the claims come from ``directory harvest`` (see ``Manifest``)."""
    unique = sorted(set(claims), key=lambda c: (c.x_id, c.updated, c.bluesky or "", c.mastodon or ""))
    listed = {c.x_id for c in unique}
    ids = len(listed)
    bucket_bits = bucket_bits_for(ids)
    shard_bits = max(bucket_bits - BUCKETS_PER_SHARD_BITS, 0)
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(
        bucket_bits,
        shard_bits,
        len(unique),
        ids,
        max((c.updated for c in unique), default=""),
        name,
        _write_filter(listed, out),
        self_published,
    )
    buckets: dict[int, list[list[str | None]]] = defaultdict(list)
    for claim in unique:
        buckets[id_prefix(claim.x_id, bucket_bits)].append(claim.row())
    shards: dict[int, list[list[str | None]]] = defaultdict(list)
    (out / "b").mkdir(parents=True, exist_ok=True)
    (out / "s").mkdir(parents=True, exist_ok=True)
    # Every bucket and shard exists, empty or not: an absent file would say "nobody here".
    for prefix in range(1 << bucket_bits):
        rows = buckets.get(prefix, [])
        (out / manifest.bucket_path(prefix)).write_text(_compact(rows), encoding="utf-8")
        shards[prefix >> (bucket_bits - shard_bits)].extend(rows)
    for prefix in range(1 << shard_bits):
        (out / manifest.shard_path(prefix)).write_text(_compact(shards.get(prefix, [])), encoding="utf-8")
    (out / "directory.json").write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    return manifest


def _write_filter(ids: set[str], out: Path) -> FilterInfo:
    """The membership filter, named by its digest (a cache never serves an old one); older filters
    of this folder are removed."""
    data = membership.build(ids).to_bytes()
    digest = hashlib.sha256(data).hexdigest()
    info = FilterInfo(f"filter-{digest[:16]}.bin", len(data), data[8:16], digest)
    for old in out.glob("filter-*.bin"):
        if old.name != info.path:
            old.unlink()
    (out / info.path).write_bytes(data)
    return info


def _compact(rows: list[list[str | None]]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


# --- looking up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LookupPlan:
    """Which files to fetch for a set of ids: whole shards where many buckets are needed."""

    shards: list[int]
    buckets: list[int]

    def paths(self, manifest: Manifest) -> list[str]:
        return [manifest.shard_path(s) for s in self.shards] + [manifest.bucket_path(b) for b in self.buckets]


def plan_lookup(
    manifest: Manifest, x_ids: Iterable[str], listed: membership.MembershipFilter | None = None
) -> LookupPlan:
    """The files to fetch for ``x_ids``; with the directory's filter, only for the ids it says
    are probably listed."""
    if listed is not None:
        x_ids = listed.probably_listed(x_ids)
    needed = {id_prefix(x_id, manifest.bucket_bits) for x_id in x_ids}
    by_shard: dict[int, list[int]] = defaultdict(list)
    shift = manifest.bucket_bits - manifest.shard_bits
    for bucket in needed:
        by_shard[bucket >> shift].append(bucket)
    threshold = max(min(SHARD_WHEN_NEEDED, 1 << shift), 2)
    shards = sorted(s for s, buckets in by_shard.items() if len(buckets) >= threshold and shift > 0)
    buckets = sorted(b for s, bs in by_shard.items() if s not in shards for b in bs)
    return LookupPlan(shards, buckets)


def claims_in(rows: Any, wanted: set[str]) -> tuple[list[Claim], int]:
    """The claims of a bucket or shard file that concern ``wanted`` ids, and the count of rows
    that were not valid claims (skipped)."""
    if not isinstance(rows, list):
        raise ValueError("a directory file must hold a list")
    found, bad = [], 0
    for row in rows:
        if isinstance(row, list) and row and isinstance(row[0], str) and row[0] not in wanted:
            continue
        try:
            found.append(claim_from_row(row))
        except ClaimError:
            bad += 1
    return found, bad
