"""The worker's Python entry points, as the page calls them: JSON in, JSON out, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyscript_app import worker
from tests.archive_factory import ArchiveSpec, Mention, Post, archive_files, people, write_zip


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "SESSION", worker.Session())


def archive(tmp_path: Path) -> Path:
    spec = ArchiveSpec(
        following=people(4),
        followers=people(2),
        posts=[Post("1600000000000000001", [Mention(people(1)[0], "ann", "Ann")])],
    )
    return write_zip(tmp_path / "a.zip", archive_files(spec))


def read_all(path: Path, stages: list[tuple[str, int, int]] | None = None) -> tuple[dict, dict, dict]:
    """What the page does: the counts, the names (another worker may read them), the complete summary."""
    paths = json.dumps([str(path)])
    counts = json.loads(worker.read(paths))
    names = json.loads(worker.read_names(paths, lambda *a: (stages if stages is not None else []).append(a)))
    return counts, names, json.loads(worker.add_names(json.dumps(names["known"])))


def test_read_answers_the_counts_then_the_names_complete_the_summary(tmp_path: Path) -> None:
    stages: list[tuple[str, int, int]] = []
    counts, names, answer = read_all(archive(tmp_path), stages)
    assert counts["complete"] is False and counts["following"] == 4 and counts["named"] == 0
    assert names == {"known": {people(1)[0]: [["ann"], ["Ann"], 1]}}
    assert answer["complete"] is True and answer["named"] == 1 and answer["notices"] == []
    assert stages[-1] == ("posts", 1, 1)


def test_the_names_are_read_by_a_worker_that_keeps_nothing(tmp_path: Path) -> None:
    """``read_names`` needs no session: the second worker reads the posts while the first reads
    the relations, and neither the order nor a fresh session changes the result."""
    path = json.dumps([str(archive(tmp_path))])
    names = json.loads(worker.read_names(path, lambda *a: None))
    assert worker.SESSION.graph is None and worker.SESSION.unnamed is None
    worker.read(path)
    assert json.loads(worker.add_names(json.dumps(names["known"])))["named"] == 1
    assert "error" in json.loads(worker.add_names(json.dumps(names["known"])))  # once per read


def test_names_of_people_outside_the_relations_are_not_kept(tmp_path: Path) -> None:
    worker.read(json.dumps([str(archive(tmp_path))]))
    known = {"999": [["stranger"], ["Stranger"], 3], people(2)[1]: [["bo"], [], 1]}
    answer = json.loads(worker.add_names(json.dumps(known)))
    assert answer["named"] == 1 and set(worker.SESSION.graph.known) == {people(2)[1]}


def test_posts_missing_are_said_once_the_names_are_in(tmp_path: Path) -> None:
    spec = ArchiveSpec(following=people(2), followers=[], posts=[])
    files = {name: data for name, data in archive_files(spec).items() if "tweet" not in name}
    path = json.dumps([str(write_zip(tmp_path / "a.zip", files))])
    worker.read(path)
    answer = json.loads(worker.add_names(json.dumps(json.loads(worker.read_names(path, print))["known"])))
    assert any("Your posts are not in what you picked" in n["message"] for n in answer["notices"])


def test_errors_come_back_as_notices_for_the_page(tmp_path: Path) -> None:
    fake = tmp_path / "x.zip"
    fake.write_bytes(b"nope")
    answer = json.loads(worker.read(json.dumps([str(fake)])))
    assert answer == json.loads(worker.read_names(json.dumps([str(fake)]), print)) == {
        "error": {
            "message": "The file %(file)s is not a zip file, or it is incomplete. Download your archive again.",
            "params": {"file": "x.zip"},
        }
    }


def test_an_unexpected_failure_is_a_notice_plus_a_trace_for_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(worker.ArchiveReader, "read_relations", explode)
    answer = json.loads(worker.read(json.dumps([str(archive(tmp_path))])))
    assert answer["error"]["message"] == "Something went wrong while reading your archive."
    assert "KeyError: 'surprise'" in answer["crash"]


def test_keep_restore_and_forget(tmp_path: Path) -> None:
    assert "error" in json.loads(worker.saved_form())
    read_all(archive(tmp_path))
    saved = json.loads(worker.saved_form())["saved"]
    assert json.loads(worker.forget()) == {"forgotten": True}
    restored = json.loads(worker.restore(saved))
    assert restored["following"] == 4 and restored["named"] == 1 and restored["complete"] is True
    broken = json.loads(worker.restore("{not json"))
    assert "cannot be read any more" in broken["error"]["message"]


def test_names_that_are_not_names_are_refused(tmp_path: Path) -> None:
    """What ``add_names`` gets comes from the page: its shape is checked, nothing half-applied."""
    worker.read(json.dumps([str(archive(tmp_path))]))
    one = people(1)[0]
    for bad in ({one: [[5], [], 1]}, {one: [["ann"]]}, {one: "ann"}, {one: "a12"}, {one: [["ann"], [], "1"]}):
        assert "error" in json.loads(worker.add_names(json.dumps(bad)))
        assert worker.SESSION.graph is None
    assert json.loads(worker.add_names(json.dumps({people(1)[0]: [["ann"], [], 1]})))["named"] == 1
