"""Reading an X archive into a :class:`PersonGraph`.

Handles every generation since 2019 (flat files at the root, or ``data/`` with a manifest),
archives re-zipped with an extra top folder, macOS ``__MACOSX`` debris, split files
(``tweets-part2.js``), a folder of the unzipped archive, and loose ``following.js`` /
``follower.js`` files. See ``../shared/x-archive/FORMAT.md`` for what is known of the format.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import N_
from .graph import Account, KnownAccount, PersonGraph
from .notices import ArchiveError, Notice
from .sources import RELATIONS_MAX_BYTES, SMALL_FILE_MAX_BYTES, ArchiveSource, open_source

DATA_FILE = re.compile(r"^(?P<kind>[a-z0-9_-]+?)(?:-part(?P<part>\d+))?\.js\Z")
ID = re.compile(r"[1-9][0-9]{0,24}\Z")  # \Z, not $: "12\n" is no id
WHOLE_PARSE_MAX_BYTES = 32 * 1024 * 1024  # about 200,000 relations in X's format
HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}\Z")
TWEET_KINDS = ("tweets", "tweet", "deleted-tweets", "deleted-tweet", "community-tweet")
ID_LISTS = {"following": "following", "follower": "follower", "block": "blocking", "mute": "muting"}

# Each pattern starts with a literal, which the regex engine finds fast: four passes over a
# 100 MB file take a fraction of a second, where parsing its JSON would take seconds.
# X writes a mention as name, screen_name, indices, id_str: one C-speed findall reads them all.
MENTION_AS_WRITTEN = re.compile(
    rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"screen_name"\s*:\s*"([^"\\]*)"\s*,\s*'
    rb'"indices"\s*:\s*\[[^\]]*\]\s*,\s*"id_str"\s*:\s*"(\d+)"'
)
MENTION_HANDLE = re.compile(rb'"screen_name"\s*:\s*"([^"\\]*)"')
MENTION_ID = re.compile(rb'"id_str"\s*:\s*"(\d+)"')
MENTION_NAME = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
REPLY_ID = re.compile(rb'"in_reply_to_user_id_str"\s*:\s*"(\d+)"')
REPLY_HANDLE = re.compile(rb'"in_reply_to_screen_name"\s*:\s*"([^"\\]*)"')
SOURCE_ID = re.compile(rb'"source_user_id_str"\s*:\s*"(\d+)"')
STATUS_URL = re.compile(
    rb'"expanded_url"\s*:\s*"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/([A-Za-z0-9_]{1,50})/status/'
)

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


# --- finding the archive's files ----------------------------------------------------------------


def _is_debris(name: str) -> bool:
    base = posixpath.basename(name)
    return name.startswith("__MACOSX/") or "/__MACOSX/" in name or base.startswith("._") or base == ".DS_Store"


@dataclass
class ArchiveLayout:
    """The archive's data files, by kind (``tweets``), each kind's parts in order."""

    folder: str
    files: dict[str, list[str]] = field(default_factory=dict)
    generation: str = "modern"

    def parts(self, kind: str) -> list[str]:
        return self.files.get(kind, [])


def _other_export(names: list[str]) -> Notice | None:
    """A clear word when the person picked another service's export or a pre-2019 archive."""
    joined = "\n".join(names)
    if re.search(r"(^|/)tweets\.csv$|(^|/)data/js/tweets/", joined, re.MULTILINE):
        return Notice(
            N_(
                "This is an old X archive (before 2019) that does not contain the list of people you follow. "
                "Request a new archive from X's settings."
            )
        )
    if "followers_and_following/" in joined or "your_instagram_activity/" in joined:
        return Notice(N_("This looks like an Instagram export, not an X archive. Pick the zip file that X sent you."))
    if "your_facebook_activity/" in joined or "friends_and_followers/" in joined or "profile_information/" in joined:
        return Notice(N_("This looks like a Facebook export, not an X archive. Pick the zip file that X sent you."))
    if re.search(r"(^|/)outbox\.json$", joined, re.MULTILINE) and re.search(r"(^|/)actor\.json$", joined, re.MULTILINE):
        return Notice(N_("This looks like a Mastodon export, not an X archive. Pick the zip file that X sent you."))
    if re.search(r"\.car$", joined, re.MULTILINE):
        return Notice(
            N_("This is a Bluesky account export (a CAR file), not an X archive. Pick the zip file that X sent you.")
        )
    return None


def find_layout(names: Iterable[str]) -> ArchiveLayout:
    """Find the folder holding the data files and group them by kind."""
    clean = [n for n in names if not _is_debris(n)]
    folders: dict[str, dict[str, list[tuple[int, str]]]] = {}
    for name in clean:
        folder, base = posixpath.split(name)
        match = DATA_FILE.match(base)
        if match:
            part = int(match.group("part") or 0)
            folders.setdefault(folder, {}).setdefault(match.group("kind"), []).append((part, name))

    def score(folder: str) -> tuple[int, int]:
        kinds = folders[folder]
        points = sum(
            weight
            for kind, weight in (("manifest", 4), ("account", 2), ("following", 3), ("follower", 1))
            if kind in kinds
        )
        return points, -folder.count("/") - (folder != "")

    candidates = [f for f in folders if score(f)[0] > 0]
    if not candidates:
        notice = _other_export(clean)
        if notice is not None:
            raise ArchiveError(notice.message, **notice.params)
        raise ArchiveError(
            N_(
                "No X archive data was found. Pick the zip file that X sent you, its unzipped folder, "
                "or the files following.js and follower.js."
            )
        )
    best = max(candidates, key=score)
    files = {kind: [name for _part, name in sorted(parts)] for kind, parts in folders[best].items()}
    generation = "modern" if posixpath.basename(best) == "data" else "flat"
    return ArchiveLayout(best, files, generation)


# --- parsing the files ------------------------------------------------------------------------


def _not_x_format(name: str) -> ArchiveError:
    return ArchiveError(N_("The file %(file)s is not in the format of an X archive."), file=name)


def _damaged_json(name: str, line: int) -> ArchiveError:
    return ArchiveError(
        N_("The file %(file)s is damaged near line %(line)s: it is not valid JSON. Download your archive again."),
        file=name,
        line=line,
    )


def _ytd_text(data: bytes, name: str) -> tuple[str, int]:
    """The text of a ``window.YTD.<name>.partN = …`` file and where its JSON value starts."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArchiveError(N_("The file %(file)s is damaged: it is not text."), file=name) from None
    start = _skip_space(text, 0)
    if text.startswith("window.", start):
        equals = text.find("=", start)
        if equals < 0:
            raise _not_x_format(name)
        start = _skip_space(text, equals + 1)
    if not text.startswith(("[", "{"), start):
        raise _not_x_format(name)
    return text, start


WHITESPACE = re.compile(r"[ \t\n\r]*")
DECODER = json.JSONDecoder()


def _skip_space(text: str, position: int) -> int:
    return WHITESPACE.match(text, position).end()  # type: ignore[union-attr]  # always matches


def parse_ytd(data: bytes, name: str) -> Any:
    """The JSON behind ``window.YTD.<name>.partN = ``; clear errors for anything else.
    Decoded where it starts in the text (a slice would copy 28 MB for 200,000 followers)."""
    text, start = _ytd_text(data, name)
    try:
        value, end = DECODER.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise _damaged_json(name, error.lineno) from None
    except RecursionError:
        raise _not_x_format(name) from None
    if not _only_space_and_semicolon(text, end):
        raise _damaged_json(name, text.count("\n", 0, end) + 1)
    return value


def _only_space_and_semicolon(text: str, position: int) -> bool:
    """Nothing but white space and one ``;`` follows ``position`` (how a data file may end)."""
    return text[position:].strip() in ("", ";")


def iter_ytd_records(data: bytes, name: str) -> Iterator[Any]:
    """The records of a ``window.YTD`` list one at a time: memory holds the text and one record,
    never the whole list as Python objects (a relations file can hold a million records)."""
    text, position = _ytd_text(data, name)
    if not text.startswith("[", position):
        raise _not_x_format(name)
    position = _skip_space(text, position + 1)
    if text.startswith("]", position):
        return
    while True:
        try:
            record, position = DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise _damaged_json(name, error.lineno) from None
        except RecursionError:
            raise _not_x_format(name) from None
        yield record
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif text.startswith("]", position):
            break
        else:
            raise _damaged_json(name, text.count("\n", 0, position) + 1)
    if not _only_space_and_semicolon(text, position + 1):
        raise _damaged_json(name, text.count("\n", 0, position) + 1)


def _records(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise _not_x_format(name)
    return value


def _usual_account_ids(records: list[Any], key: str) -> list[str] | None:
    """Every record's id when all are X's usual ``{key: {"accountId": "<digits>"}}``, else None.

    The fast path for 200,000 followers: one list comprehension and one regex over the joined ids
    instead of a check per record; anything unusual goes through ``read_id_list``'s careful loop.
    """
    try:
        ids = [record[key]["accountId"] for record in records]
        lines = "\n" + "\n".join(ids)
    except (KeyError, TypeError, IndexError):
        return None
    return ids if not ids or _all_ids(ids, lines) else None


def _all_ids(ids: list[str], lines: str) -> bool:
    """Every one of ``ids`` is what ``ID`` accepts (1 to 25 ASCII digits, no leading zero), told by
    string methods over ``lines`` (``"\n" + "\n".join(ids)``): a regex costs ten times as much in Pyodide."""
    digits = lines.replace("\n", "")
    return (
        lines.count("\n") == len(ids)  # no id holds a line break of its own
        and digits.isascii()
        and digits.isdigit()
        and "\n0" not in lines
        and "\n\n" not in lines
        and not lines.endswith("\n")
        and max(map(len, ids)) <= 25
    )


def _relation_records(data: bytes, name: str) -> list[Any] | Iterator[Any]:
    """A relations file's records: parsed at once when small (fast), one at a time when large
    (the whole list as Python objects costs about five times the file)."""
    if len(data) <= WHOLE_PARSE_MAX_BYTES:
        return _records(parse_ytd(data, name), name)
    return iter_ytd_records(data, name)


def read_id_list(source: ArchiveSource, parts: list[str], key: str) -> tuple[list[str], int]:
    """Account ids of ``following.js`` and its kin, each once, in file order; and the count of bad entries."""
    ids: dict[str, None] = {}
    bad = 0
    for part in parts:
        records = _relation_records(source.read(part, RELATIONS_MAX_BYTES), posixpath.basename(part))
        usual = _usual_account_ids(records, key) if isinstance(records, list) else None
        if usual is not None:
            ids.update(dict.fromkeys(usual))
            continue
        for record in records:
            inner = record.get(key) if isinstance(record, dict) else None
            account_id = inner.get("accountId", "") if isinstance(inner, dict) else ""
            if isinstance(account_id, (str, int)) and ID.match(str(account_id)):
                ids[str(account_id)] = None
            else:
                bad += 1
    return list(ids), bad


def read_account(source: ArchiveSource, layout: ArchiveLayout) -> Account | None:
    """The owner's account from ``account.js``, else from the manifest."""
    for part in layout.parts("account"):
        name = posixpath.basename(part)
        for record in _records(parse_ytd(source.read(part, SMALL_FILE_MAX_BYTES), name), name):
            account = record.get("account") if isinstance(record, dict) else None
            if isinstance(account, dict) and account.get("accountId"):
                return Account(
                    str(account["accountId"]), str(account.get("username", "")), account.get("accountDisplayName")
                )
    manifest = read_manifest(source, layout)
    info = manifest.get("userInfo") if isinstance(manifest, dict) else None
    if isinstance(info, dict) and info.get("accountId"):
        return Account(str(info["accountId"]), str(info.get("userName", "")), info.get("displayName"))
    return None


def read_manifest(source: ArchiveSource, layout: ArchiveLayout) -> dict[str, Any]:
    parts = layout.parts("manifest")
    if not parts:
        return {}
    value = parse_ytd(source.read(parts[0], SMALL_FILE_MAX_BYTES), posixpath.basename(parts[0]))
    return value if isinstance(value, dict) else {}


def manifest_warnings(manifest: dict[str, Any], layout: ArchiveLayout) -> list[Notice]:
    """What the manifest says is missing from the files found."""
    warnings: list[Notice] = []
    info = manifest.get("archiveInfo") or {}
    partial = str(info.get("isPartialArchive", "false")).lower() == "true"
    for kind in ("following", "follower", "tweets", "tweet"):
        listed = ((manifest.get("dataTypes") or {}).get(kind) or {}).get("files") or []
        found = {posixpath.basename(name) for name in layout.parts(kind)}
        missing = [f.get("fileName", "") for f in listed if posixpath.basename(str(f.get("fileName", ""))) not in found]
        if missing and partial and not warnings:  # said once: the other zip files hold the rest
            warnings.append(Notice(N_(
                "X split your archive into several zip files and some of its files are not in what you picked: "
                "pick all the zip files together."
            )))
        if missing:
            warnings.append(
                Notice(
                    N_("The archive's list of contents names %(count)s file(s) that are missing, such as %(file)s."),
                    {"count": len(missing), "file": posixpath.basename(str(missing[0]))},
                )
            )
    return warnings


# --- names revealed by the owner's posts ----------------------------------------------------------


def _string(raw: bytes) -> str:
    """A JSON string's raw bytes as text, escapes (``\\u00e9``, ``\\"``) resolved."""
    if b"\\" not in raw:
        return raw.decode("utf-8", "replace")
    try:
        return str(json.loads(b'"' + raw + b'"'))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


@dataclass
class NameCollector:
    """Every (id, handle, name) seen, as raw bytes; decoded and counted once at the end."""

    sightings: list[tuple[bytes, bytes, bytes | None]] = field(default_factory=list)

    def add(self, x_id: bytes, handle: bytes, name: bytes | None = None) -> None:
        self.sightings.append((x_id, handle, name))

    def known(self, relevant: set[str] | None = None) -> dict[str, KnownAccount]:
        """Per id (only ``relevant`` ones if given): distinct handles ignoring case, and names;
        the most seen first, ties in the order seen."""
        handles: dict[str, dict[str, int]] = {}
        names: dict[str, dict[str, int]] = {}
        for (raw_id, raw_handle), count in Counter((i, h) for i, h, _ in self.sightings).items():
            x_id = raw_id.decode("ascii", "replace")
            if relevant is not None and x_id not in relevant:
                continue
            handle = _string(raw_handle)
            if ID.match(x_id) and HANDLE.match(handle):
                per_id = handles.setdefault(x_id, {})
                per_id[handle] = per_id.get(handle, 0) + count
        for (raw_id, raw_name), count in Counter((i, n) for i, _, n in self.sightings if n).items():
            x_id = raw_id.decode("ascii", "replace")
            if x_id in handles:
                per_id = names.setdefault(x_id, {})
                name = _string(raw_name)
                per_id[name] = per_id.get(name, 0) + count
        return {
            x_id: KnownAccount(
                x_id, _ranked_case_insensitive(counts), _ranked(names.get(x_id, {})), sum(counts.values())
            )
            for x_id, counts in handles.items()
        }


def _ranked(counts: dict[str, int]) -> list[str]:
    """Keys by count, highest first; ties keep their order (``sorted`` is stable)."""
    return list(counts) if len(counts) < 2 else sorted(counts, key=lambda key: -counts[key])


def _ranked_case_insensitive(counts: dict[str, int]) -> list[str]:
    """Distinct handles ignoring case, the most seen spelling of the most seen handle first."""
    if len(counts) < 2:
        return list(counts)
    merged: dict[str, dict[str, int]] = {}
    for handle, count in counts.items():
        merged.setdefault(handle.lower(), {})[handle] = count
    ranked = sorted(merged.values(), key=lambda spellings: -sum(spellings.values()))
    return [_ranked(spellings)[0] for spellings in ranked]


def _object_around(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The innermost ``{...}`` around a match (objects holding these keys have no nested objects)."""
    opening = data.rfind(b"{", 0, start)
    closing = data.find(b"}", end)
    return max(opening, 0), closing if closing != -1 else len(data)


def _brace_free_run(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The stretch around a match with no brace: the fields of one object that sit side by side."""
    before = max(data.rfind(b"{", 0, start), data.rfind(b"}", 0, start), 0)
    after = [i for i in (data.find(b"{", end), data.find(b"}", end)) if i != -1]
    return before, min(after) if after else len(data)


def _scan_mentions_in_any_order(data: bytes, names: NameCollector) -> None:
    """Mentions whose keys are not in X's usual order (hand-edited or other exporters)."""
    for handle in MENTION_HANDLE.finditer(data):
        start, end = _object_around(data, handle.start(), handle.end())
        x_id = MENTION_ID.search(data, start, end)
        if x_id:
            name = MENTION_NAME.search(data, start, end)
            names.add(x_id.group(1), handle.group(1), name.group(1) if name else None)


def scan_posts(data: bytes, names: NameCollector) -> None:
    """Collect id/handle/name triples from mentions, replies and quoted media of one tweets file.

    A scan for a few keys, not a JSON parse: a 100 MB tweets file is read in a fraction of the
    time and memory, and nothing else in it matters here.
    """
    as_written = MENTION_AS_WRITTEN.findall(data)
    if len(as_written) == data.count(b'"screen_name"'):
        names.sightings += [(x_id, handle, name) for name, handle, x_id in as_written]
    else:
        _scan_mentions_in_any_order(data, names)
    for reply in REPLY_ID.finditer(data):
        start, end = _brace_free_run(data, reply.start(), reply.end())
        handle = REPLY_HANDLE.search(data, start, end)
        if handle:
            names.add(reply.group(1), handle.group(1))
    for source in SOURCE_ID.finditer(data):
        start, end = _object_around(data, source.start(), source.end())
        url = STATUS_URL.search(data, start, end)
        if url:
            names.add(source.group(1), url.group(1))


# --- the whole archive ----------------------------------------------------------------------------


class ArchiveReader:
    """Reads an archive in two stages, so the page can show the counts before the names."""

    def __init__(self, source: ArchiveSource) -> None:
        self.source = source
        self.layout = find_layout(source.names())
        if not self.layout.parts("following") and not self.layout.parts("follower"):
            raise ArchiveError(
                N_(
                    "This archive has no list of the people you follow (following.js). "
                    "Request a new archive from X's settings."
                )
            )

    def read_relations(self) -> PersonGraph:
        """The owner, who they follow, who follows them, who they blocked or muted."""
        layout = self.layout
        warnings = manifest_warnings(read_manifest(self.source, layout), layout)
        lists: dict[str, list[str]] = {}
        for kind, key in ID_LISTS.items():
            lists[kind], bad = read_id_list(self.source, layout.parts(kind), key)
            if bad:
                warnings.append(
                    Notice(
                        N_("%(count)s entries of %(file)s were not understood and were skipped."),
                        {"count": bad, "file": f"{kind}.js"},
                    )
                )
        if not layout.parts("following"):
            warnings.append(Notice(N_("The list of people you follow (following.js) is missing from what you picked.")))
        elif not lists["following"]:
            warnings.append(Notice(N_("Your archive says you follow nobody.")))
        if not layout.parts("follower"):
            warnings.append(
                Notice(N_("The list of people who follow you (follower.js) is missing from what you picked."))
            )
        loose = layout.folder == "" and "manifest" not in layout.files and not layout.parts("account")
        return PersonGraph(
            account=read_account(self.source, layout),
            following=lists["following"],
            followers=lists["follower"],
            blocked=lists["block"],
            muted=lists["mute"],
            warnings=warnings,
            generation="loose" if loose else layout.generation,
        )

    def post_files(self) -> list[str]:
        return [part for kind in TWEET_KINDS for part in self.layout.parts(kind)]

    def collect_names(
        self, progress: Progress = _no_progress, relevant: set[str] | None = None
    ) -> dict[str, KnownAccount]:
        """Handles and names the owner's posts give (only ``relevant`` ids if given). Needs
        nothing from ``read_relations``, so another worker can do it at the same time."""
        names = NameCollector()
        files = self.post_files()
        for index, part in enumerate(files):
            progress("posts", index, len(files))
            scan_posts(self.source.read(part), names)
        progress("posts", len(files), len(files))
        return names.known(relevant)

    def read_names(self, graph: PersonGraph, progress: Progress = _no_progress) -> None:
        """Handles and names of the followed and followers, from the owner's posts."""
        related = set(graph.following).union(graph.followers)
        give_names(graph, self.collect_names(progress, related), bool(self.post_files()), related)


def give_names(
    graph: PersonGraph, known: dict[str, KnownAccount], has_posts: bool, related: set[str] | None = None
) -> None:
    """Keep the named accounts the person follows or is followed by; say so when posts are missing."""
    if related is None:
        related = set(graph.following).union(graph.followers)
    graph.known = {x_id: account for x_id, account in known.items() if x_id in related}
    if not has_posts:
        graph.warnings.append(
            Notice(N_("Your posts are not in what you picked, so only the directories can find your contacts."))
        )


def read_graph(source: ArchiveSource, progress: Progress = _no_progress) -> PersonGraph:
    """Everything the matcher needs from an archive, with warnings for the person."""
    reader = ArchiveReader(source)
    graph = reader.read_relations()
    reader.read_names(graph, progress)
    return graph


def read_archive(paths: Iterable[str | Path], progress: Progress = _no_progress) -> PersonGraph:
    """Open what the person picked (zip, folder or loose files) and read it."""
    source = open_source(Path(p) for p in paths)
    try:
        return read_graph(source, progress)
    finally:
        source.close()
