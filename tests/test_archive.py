"""The archive reader under CPython: every archive shape, the names heuristics, every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from pyscript_app import archive
from pyscript_app.archive import read_archive
from pyscript_app.graph import PersonGraph
from pyscript_app.notices import ArchiveError
from tests.archive_factory import (
    OWNER_ID,
    ArchiveSpec,
    Mention,
    Post,
    archive_files,
    people,
    set_encrypted_flag,
    write_folder,
    write_zip,
    write_zip_bomb,
    ytd,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "x-archive"
ROOT = Path(__file__).resolve().parent.parent

ALICE = Mention("2000000000", "alice", "Alice Martin")
BOB = Mention("2000000001", "Bob_B", "Bob")
CAROL = Mention("3000000000", "carol", 'Carol \u00e9t\u00e9 "C"')
STRANGER = Mention("9000000000", "stranger", "Not a relation")


def spec(**changes: object) -> ArchiveSpec:
    base = ArchiveSpec(
        following=people(5),
        followers=people(3, 3_000_000_000),
        blocked=["4000000000"],
        muted=["4000000001", "4000000002"],
        posts=[
            Post("1600000000000000001", [ALICE, STRANGER]),
            Post("1600000000000000002", [], reply_to=BOB),
            Post("1600000000000000003", [], quoted_media_from=CAROL),
            Post("1600000000000000004", [Mention(ALICE.x_id, "ALICE", "Alice M.")]),
            Post("1600000000000000005", [Mention(ALICE.x_id, "alice_new", "Alice")]),
        ],
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_modern_zip_gives_the_whole_graph(tmp_path: Path) -> None:
    graph = read_archive([write_zip(tmp_path / "a.zip", archive_files(spec()))])
    assert graph.account is not None and graph.account.id == OWNER_ID and graph.account.username == "example_owner"
    assert graph.following == people(5) and graph.followers == people(3, 3_000_000_000)
    assert graph.blocked == ["4000000000"] and graph.muted == ["4000000001", "4000000002"]
    assert sorted(graph.named_relations()) == [ALICE.x_id, BOB.x_id, CAROL.x_id]
    assert graph.generation == "modern" and graph.warnings == []


def test_handles_are_ranked_and_merged_ignoring_case(tmp_path: Path) -> None:
    graph = read_archive([write_zip(tmp_path / "a.zip", archive_files(spec()))])
    alice = graph.known[ALICE.x_id]
    assert alice.handles == ["alice", "alice_new"]  # "alice" and "ALICE" are one handle, seen twice
    assert alice.seen == 3
    assert set(alice.names) == {"Alice Martin", "Alice M.", "Alice"}
    assert graph.known[BOB.x_id].handles == ["Bob_B"]  # from a reply alone
    assert graph.known[CAROL.x_id].handles == ["carol"]  # from quoted media
    assert STRANGER.x_id not in graph.known  # only followed and followers are kept


def test_names_with_escapes_are_decoded(tmp_path: Path) -> None:
    carol_mentioned = spec(posts=[Post("1600000000000000009", [CAROL])])
    graph = read_archive([write_zip(tmp_path / "a.zip", archive_files(carol_mentioned))])
    assert graph.known[CAROL.x_id].names == ['Carol été "C"']


def test_mentions_in_another_key_order_are_found(tmp_path: Path) -> None:
    files = archive_files(spec(posts=[Post("1600000000000000001", [ALICE])]))
    text = files["data/tweets.js"].decode()
    reordered = text.replace('"name" : "Alice Martin",', "").replace(
        '"id" : "2000000000"', '"id" : "2000000000",\n "name" : "Alice Martin"'
    )
    assert reordered != text
    files["data/tweets.js"] = reordered.encode()
    graph = read_archive([write_zip(tmp_path / "a.zip", files)])
    assert graph.known[ALICE.x_id].names == ["Alice Martin"]


def test_flat_layout_with_bare_tweets(tmp_path: Path) -> None:
    files = archive_files(spec(layout="flat"))
    assert "tweet.js" in files and "data/manifest.js" not in files
    graph = read_archive([write_zip(tmp_path / "flat.zip", files)])
    assert graph.generation == "flat"
    assert len(graph.following) == 5 and len(graph.named_relations()) == 3


def test_rezipped_archive_with_top_folder_and_macos_debris(tmp_path: Path) -> None:
    debris = {
        "__MACOSX/twitter-2023/data/._following.js": b"\x00\x05\x16\x07 AppleDouble junk",
        "twitter-2023/.DS_Store": b"\x00\x00\x00\x01Bud1",
    }
    zipped = write_zip(tmp_path / "re.zip", archive_files(spec()), top_folder="twitter-2023/", extra=debris)
    graph = read_archive([zipped])
    assert len(graph.following) == 5 and graph.account is not None


def test_split_tweet_files_are_all_read(tmp_path: Path) -> None:
    posts = [
        Post(str(1600000000000000100 + i), [Mention(str(2000000000 + i), f"user{i}", f"User {i}")]) for i in range(5)
    ]
    files = archive_files(spec(posts=posts, tweets_per_part=2))
    assert {"data/tweets-part1.js", "data/tweets-part2.js"} <= set(files)
    graph = read_archive([write_zip(tmp_path / "parts.zip", files)])
    assert len(graph.named_relations()) == 5


def test_missing_parts_named_in_the_manifest_are_reported(tmp_path: Path) -> None:
    files = archive_files(spec(tweets_per_part=2))
    del files["data/tweets-part2.js"]
    graph = read_archive([write_zip(tmp_path / "parts.zip", files)])
    assert any("tweets-part2.js" in notice.text for notice in graph.warnings)


def test_an_archive_split_into_several_zips_is_read_together_and_a_missing_part_is_said(tmp_path: Path) -> None:
    files = archive_files(spec(partial=True))
    second = {name: files.pop(name) for name in ("data/follower.js",)}
    first_zip = write_zip(tmp_path / "twitter-part1.zip", files)
    second_zip = write_zip(tmp_path / "twitter-part2.zip", second, top_folder="")
    alone = read_archive([first_zip])
    assert any("several zip files" in notice.text for notice in alone.warnings) and not alone.followers
    together = read_archive([first_zip, second_zip])
    assert not together.warnings
    assert len(together.followers) == 3 and len(together.following) == 5
    whole = read_archive([write_zip(tmp_path / "whole.zip", archive_files(spec(partial=True)))])
    assert not whole.warnings  # marked partial, but every file it lists is there


def test_zip64_members_are_read(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "z64.zip", archive_files(spec()), force_zip64=True)
    assert len(read_archive([zipped]).following) == 5


def test_a_huge_sparse_archive_reads_only_what_it_needs(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "big.zip", archive_files(spec()), sparse_media_bytes=5 * 1024**3)
    assert zipped.stat().st_size > 5 * 1024**3 and zipped.stat().st_blocks * 512 < 50 * 1024**2
    tracemalloc.start()
    graph = read_archive([zipped])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(graph.following) == 5 and peak < 20 * 1024**2


def test_unzipped_folder_and_loose_files(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "twitter-2023", archive_files(spec()))
    assert len(read_archive([folder]).named_relations()) == 3
    loose = [folder / "data" / "following.js", folder / "data" / "follower.js"]
    graph = read_archive(loose)
    assert graph.account is None and len(graph.following) == 5 and len(graph.followers) == 3
    assert graph.generation == "loose"
    assert any("posts are not in what you picked" in notice.text for notice in graph.warnings)


def test_graph_round_trips_through_json(tmp_path: Path) -> None:
    graph = read_archive([write_zip(tmp_path / "a.zip", archive_files(spec()))])
    again = PersonGraph.from_json(graph.to_json())
    assert again == graph
    with pytest.raises(ValueError, match="format"):
        PersonGraph.from_json(json.dumps({"version": 99}))


@pytest.mark.skipif(not SHARED.exists(), reason="shared sample files are not beside the repository")
class TestSharedSamples:
    def test_synthetic_modern_zip(self) -> None:
        summary = read_archive([SHARED / "synthetic" / "modern-2023-data-layout.zip"]).summary()
        assert summary == {
            "account": {"id": "1000000000000000001", "username": "example_owner", "display_name": "Example Owner ✨"},
            "following": 3,
            "followers": 3,
            "blocked": 1,
            "muted": 1,
            "named": 2,
            "warnings": [],
        }

    def test_community_archive_folder(self) -> None:
        graph = read_archive([SHARED / "community-archive-mock-2023"])
        assert (len(graph.following), len(graph.followers), graph.account) == (3, 3, None)

    def test_dogsheep_2019_folder_and_loose_files(self) -> None:
        folder = SHARED / "dogsheep-twitter-to-sqlite-2019"
        graph = read_archive([folder])
        assert graph.account is not None and graph.account.username == "simonw"
        assert graph.following == ["547842573", "12158"] and graph.followers == ["73747798", "386025404"]
        assert read_archive([folder / "following.js", folder / "follower.js"]).following == graph.following

    def test_manifest_with_two_tweet_parts_is_understood(self, tmp_path: Path) -> None:
        files = archive_files(spec())
        files["data/manifest.js"] = (SHARED / "synthetic" / "manifest-multipart-tweets.js").read_bytes()
        graph = read_archive([write_zip(tmp_path / "m.zip", files)])
        assert graph.account is not None and len(graph.following) == 5


# --- bad input ----------------------------------------------------------------------------------


def error_of(paths: list[Path]) -> str:
    with pytest.raises(ArchiveError) as caught:
        read_archive(paths)
    return caught.value.notice.text


def test_not_a_zip(tmp_path: Path) -> None:
    fake = tmp_path / "archive.zip"
    fake.write_text("<html>this is a web page saved with the wrong name</html>")
    assert "not a zip file" in error_of([fake])
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert "not an X archive" in error_of([other])


def test_truncated_zip(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "a.zip", archive_files(spec()))
    data = zipped.read_bytes()
    zipped.write_bytes(data[: len(data) // 2])
    assert "incomplete or damaged" in error_of([zipped])


def test_corrupted_member(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "a.zip", archive_files(spec(following=people(2000))))
    info = zipfile.ZipFile(zipped).getinfo("data/following.js")
    data = bytearray(zipped.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 50
    data[start : start + 40] = bytes(40)
    zipped.write_bytes(bytes(data))
    assert "following.js in your archive is damaged" in error_of([zipped])


def test_encrypted_zip(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "a.zip", archive_files(spec()))
    set_encrypted_flag(zipped)
    assert "protected by a password" in error_of([zipped])


def test_zip_bomb_is_stopped_with_bounded_memory(tmp_path: Path) -> None:
    zipped = write_zip_bomb(tmp_path / "bomb.zip", archive_files(spec()))
    tracemalloc.start()
    message = error_of([zipped])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "follower.js in your archive is damaged" in message
    assert peak < 16 * 1024**2


def test_member_declaring_an_absurd_size_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "RELATIONS_MAX_BYTES", 1000)
    zipped = write_zip(tmp_path / "a.zip", archive_files(spec(following=people(100))))
    assert "too large to read" in error_of([zipped])


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"connections/followers_and_following/followers_1.json": b"[]"}, "Instagram"),
        ({"your_facebook_activity/posts/your_posts_1.json": b"[]"}, "Facebook"),
        ({"outbox.json": b"{}", "actor.json": b"{}"}, "Mastodon"),
        ({"repo.car": b"\x3a\xa2eroots\x81\xd8*X%\x00\x01q\x12 gversion\x01"}, "Bluesky"),
        ({"tweets.csv": b"tweet_id,text\n", "data/js/tweets/2012_01.js": b"Grailbird.data = []"}, "before 2019"),
        ({"data/account.js": ytd("account", [])}, "no list of the people you follow"),
        ({"photos/cat.jpg": b"\xff\xd8"}, "No X archive data was found"),
    ],
)
def test_other_exports_and_incomplete_archives_are_named(tmp_path: Path, members: dict, expected: str) -> None:
    assert expected in error_of([write_zip(tmp_path / "other.zip", members)])


def test_a_bluesky_car_file_picked_alone(tmp_path: Path) -> None:
    car = tmp_path / "repo.car"
    car.write_bytes(b"\x3a\xa2eroots\x81\xd8*X%\x00\x01q\x12 gversion\x01" + bytes(100))
    assert "Bluesky account export" in error_of([car])


@pytest.mark.parametrize(
    "broken",
    [
        'window.YTD.following.part0 = [ { following: { "accountId" : "1" } } ]',
        'window.YTD.following.part0 = [ { "following" : { "accountId" : "1" } }, ]',
        'window.YTD.following.part0 = [ { "following" : { "accountId" : "1" ',
    ],
)
def test_malformed_json_names_the_file_and_line(tmp_path: Path, broken: str) -> None:
    files = archive_files(spec())
    files["data/following.js"] = broken.encode()
    message = error_of([write_zip(tmp_path / "a.zip", files)])
    assert "following.js is damaged near line 1" in message


def test_wrong_structure_is_not_a_crash(tmp_path: Path) -> None:
    files = archive_files(spec())
    files["data/following.js"] = b'window.YTD.following.part0 = {"not": "a list"}'
    assert "not in the format of an X archive" in error_of([write_zip(tmp_path / "a.zip", files)])
    files["data/following.js"] = b'window.YTD.following.part0 = [1, "two", {"following": {}}]'
    graph = read_archive([write_zip(tmp_path / "b.zip", files)])
    assert graph.following == [] and any("3 entries of following.js" in w.text for w in graph.warnings)


def test_empty_following_list_is_said(tmp_path: Path) -> None:
    graph = read_archive([write_zip(tmp_path / "a.zip", archive_files(spec(following=[])))])
    assert any("follow nobody" in notice.text for notice in graph.warnings)


def test_a_million_followers(tmp_path: Path) -> None:
    records = ",".join(
        f'{{\n    "follower" : {{\n      "accountId" : "{i}",\n      "userLink" : '
        f'"https://twitter.com/intent/user?user_id={i}"\n    }}\n  }}'
        for i in range(10**9, 10**9 + 1_000_000)
    )
    files = archive_files(spec())
    files["data/follower.js"] = f"window.YTD.follower.part0 = [{records}]".encode()
    graph = read_archive([write_zip(tmp_path / "big.zip", files)])
    assert len(graph.followers) == 1_000_000 and graph.followers[-1] == str(10**9 + 999_999)


# --- the command line twin ------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyscript_app", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_prints_exactly_one_json_object(tmp_path: Path) -> None:
    result = run_cli("inspect", str(write_zip(tmp_path / "a.zip", archive_files(spec()))), "--json")
    assert result.returncode == 0 and result.stderr == ""
    summary = json.loads(result.stdout)
    assert summary == {
        "account": {"id": OWNER_ID, "username": "example_owner", "display_name": "Example Owner"},
        "following": 5,
        "followers": 3,
        "blocked": 1,
        "muted": 2,
        "named": 3,
        "warnings": [],
    }


def test_cli_bad_input_is_one_line_and_status_2(tmp_path: Path) -> None:
    fake = tmp_path / "archive.zip"
    fake.write_bytes(b"not a zip")
    result = run_cli("inspect", str(fake), "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    missing = run_cli("inspect", str(tmp_path / "nowhere.zip"))
    assert missing.returncode == 2 and "cannot be found" in missing.stderr


class _Files:
    """An archive source of named byte strings."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def names(self) -> list[str]:
        return list(self.files)

    def size(self, name: str) -> int:
        return len(self.files[name])

    def read(self, name: str, limit: int = 1 << 30) -> bytes:
        return self.files[name]

    def close(self) -> None:
        pass


def _id_list(records: list) -> bytes:
    return b"window.YTD.follower.part0 = " + json.dumps(records).encode()


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (
            [{"follower": {"accountId": "12"}}, {"follower": {"accountId": "34"}}, {"follower": {"accountId": "12"}}],
            (["12", "34"], 0),
        ),
        ([{"follower": {"accountId": "12"}}, {"follower": {"accountId": 34}}], (["12", "34"], 0)),
        ([{"follower": {"accountId": "12"}}, {"follower": {"accountId": "01"}}, {"follower": {}}], (["12"], 2)),
        ([{"follower": {"accountId": "12"}}, ["not", "a", "record"], {"follower": {"accountId": "1\n2"}}], (["12"], 2)),
        ([], ([], 0)),
    ],
)
def test_id_lists_give_the_same_ids_on_the_fast_path_and_the_careful_one(records: list, expected: tuple) -> None:
    from pyscript_app.archive import read_id_list

    source = _Files({"data/follower.js": _id_list(records)})
    assert read_id_list(source, ["data/follower.js"], "follower") == expected


def test_the_named_count_counts_the_named_relations_only() -> None:
    from pyscript_app.graph import KnownAccount

    graph = PersonGraph(account=None, following=["1", "2"], followers=["2", "3"])
    assert graph.named_count() == len(graph.named_relations()) == 0
    graph.known = {
        "1": KnownAccount("1", ["ann"]),
        "2": KnownAccount("2", ["bob"]),
        "3": KnownAccount("3", []),
        "9": KnownAccount("9", ["not_a_relation"]),
    }
    assert graph.named_count() == len(graph.named_relations()) == 2
    assert graph.summary()["named"] == 2


@pytest.mark.parametrize(
    "account_id", ["0", "01", "", "12\n", "12\n34", "１２", "٣", "1" * 26, "12a", 12.5, None]
)
def test_an_id_that_is_not_one_is_never_read_as_one(account_id: object) -> None:
    """The fast path for X's usual records and the careful one agree: neither takes a bad id."""
    from pyscript_app.archive import ID, _usual_account_ids

    records = [{"follower": {"accountId": "1700000000000000101"}}, {"follower": {"accountId": account_id}}]
    assert _usual_account_ids(records, "follower") is None
    assert not ID.match(str(account_id))


def test_parse_ytd_reads_from_where_the_value_starts() -> None:
    from pyscript_app.archive import parse_ytd

    assert parse_ytd(b'window.YTD.follower.part0 = [ {"a": 1} ] ;\n', "follower.js") == [{"a": 1}]
    for data, line in ((b'window.YTD.follower.part0 = [\n {"a": 1} ] x', 2), (b'window.YTD.x = [\n{},\n{"a": } ]', 3)):
        with pytest.raises(ArchiveError) as caught:
            parse_ytd(data, "follower.js")
        assert caught.value.notice.params["line"] == line
