"""A membership filter of a directory's X ids: a binary fuse filter with 8-bit fingerprints.

The matcher downloads it once per run and asks buckets only for the ids it says are probably
listed, so its requests name (nearly) only people who chose to be found. An id that is listed is
always found (no false negatives); an id that is not is wrongly said listed with a chance of
about 1/256 (0.39 %). The filter costs 1.125 bytes (9 bits) a listed id for 1,000 ids and more:
1.1 MB for 1,000,000 ids, 11.3 MB for 10,000,000.

Keys: the first 8 bytes (big-endian) of BLAKE2b-64 of the id's ASCII digits, keyed with the
directory's 8-byte seed (``seed`` in ``directory.json``, hex). With ``n = segment_count *
segment_length``, a key ``h`` has three slots::

    h0 = (h * n) >> 64
    h1 = (h0 + segment_length) ^ ((h >> 18) & (segment_length - 1))
    h2 = (h0 + 2 * segment_length) ^ (h & (segment_length - 1))

and is probably listed when ``fp[h0] ^ fp[h1] ^ fp[h2] == (h ^ (h >> 32)) & 0xFF``.

File (``filter-<first 16 hex digits of its SHA-256>.bin``, named in ``directory.json``), all
numbers big-endian, exactly ``HEADER.size + (segment_count + 2) * segment_length`` bytes::

    4 bytes  b"PXF1"
    1 byte   kind: 1 (binary fuse, 3 slots, 8-bit fingerprints)
    3 bytes  zero
    8 bytes  seed (the same as the manifest's)
    4 bytes  segment_length (a power of two, 1 to 2**18)
    4 bytes  segment_count (at least 1)
    8 bytes  entries: the ids the filter holds (the manifest's ``ids``)
    ...      the fingerprints, one byte each
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass

MAGIC = b"PXF1"
KIND_BINARY_FUSE_8 = 1
HEADER = struct.Struct(">4sB3s8sIIQ")
MAX_SEGMENT_LENGTH = 1 << 18
MAX_ENTRIES = 10**10
FALSE_POSITIVE_RATE = 1 / 256
SEEDS_PER_SIZE = 8  # construction attempts with fresh seeds before the table grows by a segment
MASK64 = (1 << 64) - 1


class FilterError(ValueError):
    """A filter file that does not follow the format: the directory is malformed."""


def key(x_id: str, seed: bytes) -> int:
    """The 64-bit key of an X id under a directory's seed."""
    return int.from_bytes(hashlib.blake2b(x_id.encode("ascii"), digest_size=8, key=seed).digest(), "big")


def fingerprint(h: int) -> int:
    return (h ^ (h >> 32)) & 0xFF


def segment_length_for(size: int) -> int:
    """As in the reference binary fuse filters (Graf and Lemire, 2022), 3-wise."""
    if size <= 1:
        return 4
    return min(1 << int(math.log(size) / math.log(3.33) + 2.25), MAX_SEGMENT_LENGTH)


def segment_count_for(size: int, segment_length: int) -> int:
    if size <= 1:
        return 1
    factor = max(1.125, 0.875 + 0.25 * math.log(1_000_000) / math.log(size))
    capacity = round(size * factor)
    return max(-(-capacity // segment_length) - 2, 1)


def filter_bytes(size: int) -> int:
    """The size of the file for ``size`` ids (a lower bound if construction must grow the table)."""
    length = segment_length_for(size)
    return HEADER.size + (segment_count_for(size, length) + 2) * length


@dataclass(frozen=True)
class MembershipFilter:
    seed: bytes
    segment_length: int
    segment_count: int
    entries: int
    fingerprints: bytes

    def slots(self, h: int) -> tuple[int, int, int]:
        length, mask = self.segment_length, self.segment_length - 1
        h0 = (h * self.segment_count * length) >> 64
        return h0, (h0 + length) ^ ((h >> 18) & mask), (h0 + 2 * length) ^ (h & mask)

    def __contains__(self, x_id: object) -> bool:
        if not isinstance(x_id, str) or not self.entries or not x_id.isascii():
            return False
        h = key(x_id, self.seed)
        a, b, c = self.slots(h)
        fp = self.fingerprints
        return fp[a] ^ fp[b] ^ fp[c] == fingerprint(h)

    def probably_listed(self, x_ids: Iterable[str]) -> set[str]:
        return {x_id for x_id in x_ids if x_id in self}

    def to_bytes(self) -> bytes:
        header = HEADER.pack(
            MAGIC, KIND_BINARY_FUSE_8, bytes(3), self.seed, self.segment_length, self.segment_count, self.entries
        )
        return header + self.fingerprints

    @classmethod
    def from_bytes(cls, data: bytes, seed: bytes | None = None, entries: int | None = None) -> MembershipFilter:
        """A filter read strictly: every header field in range and the length exactly as announced;
        ``seed`` and ``entries``, when given, must be what the manifest says. FilterError otherwise."""
        if len(data) < HEADER.size:
            raise FilterError("the filter is shorter than its header")
        magic, kind, zero, file_seed, length, count, held = HEADER.unpack_from(data)
        if magic != MAGIC or kind != KIND_BINARY_FUSE_8 or zero != bytes(3):
            raise FilterError("not a Passerelle membership filter of a known kind")
        if length < 1 or length > MAX_SEGMENT_LENGTH or length & (length - 1):
            raise FilterError("the segment length must be a power of two up to 2**18")
        if count < 1 or held > MAX_ENTRIES:
            raise FilterError("the segment count or the entries are out of range")
        if len(data) != HEADER.size + (count + 2) * length:
            raise FilterError("the filter's length is not the one its header announces")
        if seed is not None and file_seed != seed:
            raise FilterError("the filter's seed is not the directory's")
        if entries is not None and held != entries:
            raise FilterError("the filter does not hold as many ids as the directory")
        return cls(file_seed, length, count, held, bytes(data[HEADER.size :]))


def build(x_ids: Iterable[str], seed: bytes | None = None) -> MembershipFilter:
    """The filter of these ids. Without a ``seed``, it is drawn from the ids themselves, so the same
    directory builds the same files; a seed that cannot be used (the peeling fails, rarely) is
    replaced by the next one drawn; after a few, the table grows by a segment."""
    ids = sorted(set(x_ids))
    size = len(ids)
    length = segment_length_for(size)
    count = segment_count_for(size, length)
    attempt = 0
    while True:
        seed = seed if seed is not None else _seed_for(ids, attempt)
        built = _try_build(ids, seed, length, count)
        if built is not None:
            return built
        seed, attempt = None, attempt + 1
        if attempt % SEEDS_PER_SIZE == 0:
            count += 1


def _seed_for(ids: list[str], attempt: int) -> bytes:
    """A seed that depends only on the (sorted) ids and the attempt's number."""
    digest = hashlib.blake2b(attempt.to_bytes(4, "big"), digest_size=8)
    digest.update("\n".join(ids).encode("ascii", "replace"))
    return digest.digest()


def _try_build(ids: list[str], seed: bytes, length: int, count: int) -> MembershipFilter | None:
    """Peel the 3-uniform hypergraph of the keys; None if it has a core (or two keys collide).
    Slots hold the xor of their keys' indexes (small numbers are cheaper than 64-bit keys), and
    the slots are computed inline: this is what makes 1,000,000 ids take seconds, not tens."""
    keys = list({key(x_id, seed) for x_id in ids})
    if len(keys) != len(ids):
        return None
    size = (count + 2) * length
    span, mask, twice = count * length, length - 1, 2 * length
    degree = [0] * size
    xored = [0] * size
    for index, h in enumerate(keys):
        h0 = (h * span) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + twice) ^ (h & mask)
        degree[h0] += 1
        degree[h1] += 1
        degree[h2] += 1
        xored[h0] ^= index
        xored[h1] ^= index
        xored[h2] ^= index
    stack = [slot for slot, d in enumerate(degree) if d == 1]
    order: list[int] = []  # slot, key index, slot, key index...
    push, record = stack.append, order.extend
    while stack:
        slot = stack.pop()
        if degree[slot] != 1:
            continue
        index = xored[slot]
        record((slot, index))
        h = keys[index]
        h0 = (h * span) >> 64
        for other in (h0, (h0 + length) ^ ((h >> 18) & mask), (h0 + twice) ^ (h & mask)):
            degree[other] -= 1
            xored[other] ^= index
            if degree[other] == 1:
                push(other)
    if len(order) != 2 * len(keys):
        return None
    fp = bytearray(size)
    for position in range(len(order) - 2, -1, -2):
        slot, h = order[position], keys[order[position + 1]]
        h0 = (h * span) >> 64
        # fp[slot] is still 0 here, so xoring all three slots leaves the two others'
        others = fp[h0] ^ fp[(h0 + length) ^ ((h >> 18) & mask)] ^ fp[(h0 + twice) ^ (h & mask)]
        fp[slot] = ((h ^ (h >> 32)) & 0xFF) ^ others
    return MembershipFilter(seed, length, count, len(ids), bytes(fp))
