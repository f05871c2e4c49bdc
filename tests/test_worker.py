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


def test_read_posts_counts_first_then_answers_with_the_complete_summary(tmp_path: Path) -> None:
    early: list[dict] = []
    stages: list[tuple[str, int, int]] = []
    answer = json.loads(
        worker.read(
            json.dumps([str(archive(tmp_path))]),
            lambda text: early.append(json.loads(text)),
            lambda *a: stages.append(a),
        )
    )
    assert early[0]["complete"] is False and early[0]["following"] == 4 and early[0]["named"] == 0
    assert answer["complete"] is True and answer["named"] == 1 and answer["notices"] == []
    assert stages[-1] == ("posts", 1, 1)


def test_errors_come_back_as_notices_for_the_page(tmp_path: Path) -> None:
    fake = tmp_path / "x.zip"
    fake.write_bytes(b"nope")
    answer = json.loads(worker.read(json.dumps([str(fake)]), print, print))
    assert answer == {
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
    answer = json.loads(worker.read(json.dumps([str(archive(tmp_path))]), print, print))
    assert answer["error"]["message"] == "Something went wrong while reading your archive."
    assert "KeyError: 'surprise'" in answer["crash"]


def test_keep_restore_and_forget(tmp_path: Path) -> None:
    assert "error" in json.loads(worker.saved_form())
    worker.read(json.dumps([str(archive(tmp_path))]), lambda _: None, lambda *_: None)
    saved = json.loads(worker.saved_form())["saved"]
    assert json.loads(worker.forget()) == {"forgotten": True}
    restored = json.loads(worker.restore(saved))
    assert restored["following"] == 4 and restored["named"] == 1 and restored["complete"] is True
    broken = json.loads(worker.restore("{not json"))
    assert "cannot be read any more" in broken["error"]["message"]
