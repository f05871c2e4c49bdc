"""Precompressed copies of the site's files: ``name.br`` and ``name.gz`` beside ``name``.

A host that serves precompressed files (nginx ``brotli_static``/``gzip_static``, Apache's
rewrite rules, ``build.py serve``) sends them to browsers that accept them: the runtime's
13 MB become about 4. Compressing the wasm with Brotli's best setting takes a minute, so every
compressed copy is kept in the cache under the digest of what it compresses, and a build only
compresses what changed.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a build dependency; without it, gzip only
    brotli = None

log = logging.getLogger("passerelle.build")

COMPRESSIBLE = frozenset({".html", ".css", ".js", ".mjs", ".json", ".wasm", ".zip", ".svg", ".xml", ".txt"})
MIN_BYTES = 1024
# A copy is kept only when it saves at least this share of the bytes (a deflated zip gains nothing).
MIN_SAVING = 0.05
CACHE_VERSION = "1"


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def brotli_bytes(data: bytes) -> bytes:
    result: bytes = brotli.compress(data, quality=11)  # brotli has no type hints
    return result


def compressors() -> dict[str, Callable[[bytes], bytes]]:
    """File suffix -> compressor; Brotli only when its package is installed."""
    found: dict[str, Callable[[bytes], bytes]] = {".gz": gzip_bytes}
    if brotli is not None:
        found = {".br": brotli_bytes, **found}
    else:
        log.warning("the 'brotli' package is missing: writing .gz copies only (pip install brotli)")
    return found


def compressed(data: bytes, suffix: str, compress: Callable[[bytes], bytes], cache: Path) -> bytes:
    """``data`` compressed, from the cache when this exact content was compressed before."""
    key = hashlib.sha256(data).hexdigest()
    cached = cache / key[:2] / f"{key}-{CACHE_VERSION}{suffix}"
    try:
        return cached.read_bytes()
    except FileNotFoundError:
        pass
    result = compress(data)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.part")
    partial.write_bytes(result)
    partial.replace(cached)
    return result


def worth_compressing(path: Path) -> bool:
    return path.suffix in COMPRESSIBLE and path.stat().st_size >= MIN_BYTES


def precompress_file(path: Path, cache: Path, kinds: dict[str, Callable[[bytes], bytes]]) -> int:
    """Write the useful compressed copies of one file; returns how many were written."""
    data = path.read_bytes()
    written = 0
    for suffix, compress in kinds.items():
        result = compressed(data, suffix, compress, cache)
        if len(result) <= len(data) * (1 - MIN_SAVING):
            path.with_name(path.name + suffix).write_bytes(result)
            written += 1
    return written


def precompress(files: Iterable[Path], cache: Path) -> int:
    """Precompress every file worth it, in parallel threads (zlib and Brotli release the GIL)."""
    kinds = compressors()
    chosen = [path for path in files if worth_compressing(path)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return sum(pool.map(lambda path: precompress_file(path, cache, kinds), chosen))


def precompress_site(out: Path, cache: Path) -> int:
    """Precompress the whole built site."""
    return precompress(sorted(p for p in out.rglob("*") if p.is_file()), cache)
