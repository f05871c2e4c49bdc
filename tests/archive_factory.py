"""Builds X archives in every shape the reader must handle, for tests and benchmarks.

Files are written the way X writes them (``window.YTD.<name>.partN = `` then pretty-printed
JSON with `` : `` separators), in the modern layout (``data/`` with a manifest) or the flat one
(files at the root, bare tweet objects). Ids are strings, as in real archives.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OWNER_ID = "1000000000000000001"


@dataclass(frozen=True)
class Mention:
    x_id: str
    handle: str
    name: str


@dataclass(frozen=True)
class Post:
    """One tweet: its id, the people it mentions, and whom it replies to."""

    tweet_id: str
    mentions: Sequence[Mention] = ()
    reply_to: Mention | None = None
    quoted_media_from: Mention | None = None


@dataclass
class ArchiveSpec:
    following: list[str] = field(default_factory=list)
    followers: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    muted: list[str] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    username: str = "example_owner"
    display_name: str = "Example Owner"
    layout: str = "modern"  # or "flat"
    tweets_per_part: int = 0  # 0: one tweets.js; n: tweets.js, tweets-part1.js, … of n tweets each
    partial: bool = False


def ytd(global_name: str, records: object, part: int = 0) -> bytes:
    """A data file exactly as X writes it."""
    text = json.dumps(records, indent=2, ensure_ascii=False).replace('": ', '" : ')
    return f"window.YTD.{global_name}.part{part} = {text}".encode()


def id_records(key: str, ids: Iterable[str]) -> list[dict]:
    return [{key: {"accountId": x_id, "userLink": f"https://twitter.com/intent/user?user_id={x_id}"}} for x_id in ids]


def tweet_object(post: Post) -> dict:
    mentions = [
        {
            "name": m.name,
            "screen_name": m.handle,
            "indices": ["0", str(len(m.handle) + 1)],
            "id_str": m.x_id,
            "id": m.x_id,
        }
        for m in post.mentions
    ]
    entities: dict = {"hashtags": [], "symbols": [], "user_mentions": mentions, "urls": []}
    if post.quoted_media_from is not None:
        source = post.quoted_media_from
        entities["media"] = [
            {
                "expanded_url": f"https://twitter.com/{source.handle}/status/{int(post.tweet_id) - 5}/photo/1",
                "indices": ["10", "33"],
                "url": "https://t.co/abcdef",
                "id_str": str(int(post.tweet_id) - 4),
                "source_status_id_str": str(int(post.tweet_id) - 5),
                "source_user_id_str": source.x_id,
                "type": "photo",
            }
        ]
    tweet: dict = {
        "edit_info": {"initial": {"editTweetIds": [post.tweet_id], "editableUntil": "2023-02-18T20:15:15.000Z"}},
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "entities": entities,
        "display_text_range": ["0", "120"],
        "favorite_count": "1",
        "id_str": post.tweet_id,
        "truncated": False,
        "retweet_count": "0",
        "id": post.tweet_id,
        "created_at": "Sat Feb 18 19:45:15 +0000 2023",
        "favorited": False,
        "full_text": " ".join(f"@{m.handle}" for m in post.mentions) + " a post about bridges &amp; rivers",
        "lang": "en",
    }
    if post.reply_to is not None:
        tweet["in_reply_to_status_id_str"] = str(int(post.tweet_id) - 1)
        tweet["in_reply_to_user_id"] = post.reply_to.x_id
        tweet["in_reply_to_screen_name"] = post.reply_to.handle
        tweet["in_reply_to_user_id_str"] = post.reply_to.x_id
    return tweet


def archive_files(spec: ArchiveSpec) -> dict[str, bytes]:
    """Every file of the archive, by its path inside it."""
    prefix = "data/" if spec.layout == "modern" else ""
    tweets_name = "tweets" if spec.layout == "modern" else "tweet"
    wrap = (lambda t: {"tweet": t}) if spec.layout == "modern" else (lambda t: t)
    account = {
        "account": {
            "email": "owner@example.invalid",
            "createdVia": "web",
            "username": spec.username,
            "accountId": OWNER_ID,
            "createdAt": "2011-06-23T13:04:14.000Z",
            "accountDisplayName": spec.display_name,
        }
    }
    files = {
        f"{prefix}account.js": ytd("account", [account]),
        f"{prefix}following.js": ytd("following", id_records("following", spec.following)),
        f"{prefix}follower.js": ytd("follower", id_records("follower", spec.followers)),
        f"{prefix}block.js": ytd("block", id_records("blocking", spec.blocked)),
        f"{prefix}mute.js": ytd("mute", id_records("muting", spec.muted)),
    }
    tweets = [wrap(tweet_object(p)) for p in spec.posts]
    size = spec.tweets_per_part or max(len(tweets), 1)
    chunks = [tweets[i : i + size] for i in range(0, max(len(tweets), 1), size)]
    tweet_files = []
    for index, chunk in enumerate(chunks):
        name = f"{prefix}{tweets_name}.js" if index == 0 else f"{prefix}{tweets_name}-part{index}.js"
        files[name] = ytd(tweets_name, chunk, index)
        tweet_files.append(name)
    if spec.layout == "modern":
        files["data/manifest.js"] = manifest(spec, tweet_files)
        files["Your archive.html"] = b"<!DOCTYPE html><title>Your archive</title>"
        files["data/README.txt"] = b"Synthetic archive for tests."
    return files


def manifest(spec: ArchiveSpec, tweet_files: list[str]) -> bytes:
    def entry(name: str, global_name: str, count: int) -> dict:
        return {"files": [{"fileName": name, "globalName": global_name, "count": str(count)}]}

    data_types = {
        "following": entry("data/following.js", "YTD.following.part0", len(spec.following)),
        "follower": entry("data/follower.js", "YTD.follower.part0", len(spec.followers)),
        "tweets": {
            "files": [
                {"fileName": name, "globalName": f"YTD.tweets.part{i}", "count": "0"}
                for i, name in enumerate(tweet_files)
            ]
        },
    }
    config = {
        "userInfo": {"accountId": OWNER_ID, "userName": spec.username, "displayName": spec.display_name},
        "archiveInfo": {
            "sizeBytes": "1000",
            "generationDate": "2023-08-20T11:06:14.174Z",
            "isPartialArchive": spec.partial,
            "maxPartSizeBytes": "53687091200",
        },
        "dataTypes": data_types,
    }
    return ("window.__THAR_CONFIG = " + json.dumps(config, indent=2)).encode()


def write_zip(
    path: Path,
    files: dict[str, bytes],
    top_folder: str = "",
    extra: dict[str, bytes] | None = None,
    sparse_media_bytes: int = 0,
    force_zip64: bool = False,
) -> Path:
    """Zip ``files`` (under ``top_folder`` if given); ``sparse_media_bytes`` adds a large stored
    media member whose zeros cost no disk (the zip file is sparse)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in {**files, **(extra or {})}.items():
            info = zipfile.ZipInfo(f"{top_folder}{name}", (2023, 8, 20, 11, 6, 14))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=force_zip64) as member:
                member.write(data)
        if sparse_media_bytes:
            _add_sparse_member(archive, f"{top_folder}data/tweets_media/video.mp4", sparse_media_bytes)
    return path


def add_raw_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes = b"", hole: int = 0) -> None:
    """Write a member's header and ``data`` (or a ``hole`` of that many bytes) exactly as given,
    trusting ``info``'s sizes and CRC: how tests make sparse giants and lying zip bombs."""
    handle = archive.fp
    info.header_offset = handle.tell()
    handle.write(info.FileHeader(zip64=info.file_size > 0xFFFFFFFF or info.compress_size > 0xFFFFFFFF))
    handle.write(data)
    if hole:
        handle.seek(hole, os.SEEK_CUR)
    archive.start_dir = handle.tell()
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info
    archive._didModify = True


def _add_sparse_member(archive: zipfile.ZipFile, name: str, size: int) -> None:
    """A stored member of ``size`` zero bytes whose zeros are a hole: the file stays sparse on disk."""
    block = bytes(1024 * 1024)
    crc = 0
    full, rest = divmod(size, len(block))
    for _ in range(full):
        crc = zlib.crc32(block, crc)
    info = zipfile.ZipInfo(name, (2023, 8, 20, 11, 6, 14))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = info.compress_size = size
    info.CRC = zlib.crc32(block[:rest], crc)
    add_raw_member(archive, info, hole=size)


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def people(count: int, start: int = 2_000_000_000) -> list[str]:
    return [str(start + i) for i in range(count)]


def write_zip_bomb(path: Path, files: dict[str, bytes]) -> Path:
    """An archive whose follower.js declares 2 KB but inflates to 300 MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunks = [compressor.compress(b"window.YTD.follower.part0 = [")]
    chunks += [compressor.compress(bytes(1024 * 1024)) for _ in range(300)]
    bomb = b"".join(chunks) + compressor.flush()
    write_zip(path, {name: data for name, data in files.items() if not name.endswith("follower.js")})
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("data/follower.js", (2023, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.file_size, info.compress_size, info.CRC = 2000, len(bomb), 0x12345678
        add_raw_member(archive, info, bomb)
    return path


def set_encrypted_flag(path: Path) -> Path:
    """Mark every member as encrypted, as a password-protected zip does."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = data.find(signature)
        while position != -1:
            flags = struct.unpack_from("<H", data, position + offset)[0]
            struct.pack_into("<H", data, position + offset, flags | 0x1)
            position = data.find(signature, position + 4)
    path.write_bytes(bytes(data))
    return path
