"""Fuzzing the two readers of untrusted bytes: archives and directories (a bounded number of cases).

Whatever the bytes, the archive reader either reads a graph or raises ArchiveError (a message for
the person), and the directory reader either returns claims or raises ValueError: never another
exception, which would reach the page as a crash.
"""

from __future__ import annotations

import contextlib
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyscript_app import archive
from pyscript_app.archive import iter_ytd_records, read_archive
from pyscript_app.directory import Manifest, claims_in
from pyscript_app.notices import ArchiveError
from tests.archive_factory import ArchiveSpec, archive_files, people, write_zip

CASES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
SAMPLE = archive_files(ArchiveSpec(following=people(5), followers=people(3, 9_000_000)))


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def read_bytes(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with contextlib.suppress(ArchiveError):
        read_archive([path])


@CASES
@given(data=st.binary(max_size=4096))
def test_any_bytes_as_a_zip_or_a_data_file(tmp_path: Path, data: bytes) -> None:
    read_bytes(tmp_path, "archive.zip", data)
    read_bytes(tmp_path, "following.js", data)


@CASES
@given(position=st.integers(min_value=0), replacement=st.binary(min_size=1, max_size=64))
def test_a_damaged_real_archive(tmp_path: Path, position: int, replacement: bytes) -> None:
    original = zipped(SAMPLE)
    start = position % len(original)
    read_bytes(tmp_path, "archive.zip", original[:start] + replacement + original[start + len(replacement) :])


@CASES
@given(value=JSON, prefix=st.sampled_from(["window.YTD.following.part0 = ", "", "window.x = ", "["]))
def test_any_json_as_a_relations_file(tmp_path: Path, value: Any, prefix: str) -> None:
    text = prefix + json.dumps(value)
    read_bytes(tmp_path, "archive.zip", zipped({**SAMPLE, "data/following.js": text.encode()}))


@CASES
@given(value=JSON)
def test_any_json_as_a_directory_manifest_or_bucket(value: Any) -> None:
    with contextlib.suppress(ValueError):
        Manifest.from_json(value)
    with contextlib.suppress(ValueError):
        claims_in(value, {"123"})


@CASES
@given(rows=st.lists(st.lists(st.none() | st.text(max_size=30) | st.integers(), min_size=5, max_size=5), max_size=8))
def test_any_rows_in_a_bucket(rows: list[list[Any]]) -> None:
    wanted = {row[0] for row in rows if isinstance(row[0], str)}
    found, bad = claims_in(rows, wanted)
    assert len(found) + bad <= len(rows)


def test_a_big_relations_file_costs_little_more_than_its_bytes(tmp_path: Path) -> None:
    """400,000 followers (53 MB of JSON) read record by record: the Python objects of the whole list
    (several times the file) are never built."""
    records = ",".join(
        f'{{\n    "follower" : {{\n      "accountId" : "{i}",\n      "userLink" : '
        f'"https://twitter.com/intent/user?user_id={i}"\n    }}\n  }}'
        for i in range(10**12, 10**12 + 400_000)
    )
    data = f"window.YTD.follower.part0 = [{records}]".encode()
    tracemalloc.start()
    count = sum(1 for _ in iter_ytd_records(data, "follower.js"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 400_000
    assert peak < 1.3 * len(data)  # the text (one copy) and one record at a time


def test_a_relations_file_of_a_zip_is_read_without_extra_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size parsed at once (32 MB, lowered here to keep the test small), records are read
    one at a time."""
    monkeypatch.setattr(archive, "WHOLE_PARSE_MAX_BYTES", 1024 * 1024)
    records = ",".join(f'{{"follower":{{"accountId":"{i}"}}}}' for i in range(10**12, 10**12 + 300_000))
    files = {**SAMPLE, "data/follower.js": f"window.YTD.follower.part0 = [{records}]".encode()}
    zipped_archive = write_zip(tmp_path / "a.zip", files)
    size = len(files["data/follower.js"])
    tracemalloc.start()
    graph = read_archive([zipped_archive])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(graph.followers) == 300_000
    assert peak < 2 * size + 150 * 300_000  # its bytes, its text, and the ids kept (not every record)
