"""Where archive files come from: a zip read with random access, a folder, or loose files.

A zip is never read whole: ``zipfile`` seeks to the central directory and then to the few
members needed, so a 20 GB archive costs a few hundred kilobytes of reading. In the browser
the ``File`` is mounted read-only (Emscripten's WORKERFS) and opened like any local file.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from . import N_
from .notices import ArchiveError

# Pyodide's WebAssembly heap holds 2 GiB at the most, and reading a relations file costs its bytes,
# its text and its ids (about 2.5 times its size): caps keep every read well below that. A
# relations file of 256 MB lists about two million accounts; posts files are scanned as bytes.
MAX_MEMBER_BYTES = 512 * 1024 * 1024
RELATIONS_MAX_BYTES = 256 * 1024 * 1024
SMALL_FILE_MAX_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
CAR_HINT = b"roots"


class ArchiveSource(Protocol):
    """Read access to the files of an archive, by their path inside it."""

    def names(self) -> list[str]: ...

    def size(self, name: str) -> int: ...

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes: ...

    def close(self) -> None: ...


def _too_large(name: str, size: int) -> ArchiveError:
    return ArchiveError(
        N_("The file %(file)s in your archive is too large to read (%(size)s MB)."),
        file=name,
        size=size // (1024 * 1024),
    )


class ZipSource:
    """Members of a zip file opened with random access; bounded reads stop zip bombs."""

    def __init__(self, handle: BinaryIO, label: str) -> None:
        self.handle = handle
        try:
            self.zip = zipfile.ZipFile(handle)
        # NotImplementedError: a damaged central directory can name a compression zipfile lacks.
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
            handle.close()
            raise ArchiveError(
                N_("The zip file %(file)s is incomplete or damaged. Download your archive again."), file=label
            ) from None
        # A damaged central directory can hold a member with no name at all: it is not a file.
        self.infos = {info.filename: info for info in self.zip.infolist() if info.filename and not info.is_dir()}

    def names(self) -> list[str]:
        return list(self.infos)

    def close(self) -> None:
        self.zip.close()
        self.handle.close()

    def size(self, name: str) -> int:
        return self.infos[name].file_size

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """A member's bytes, read into one buffer of its declared size (no growing copies)."""
        info = self.infos[name]
        if info.flag_bits & 0x1:
            raise ArchiveError(N_("This zip file is protected by a password. Use the archive exactly as X sent it."))
        if info.file_size > limit:
            raise _too_large(name, info.file_size)
        damaged = ArchiveError(
            N_("The file %(file)s in your archive is damaged. Download your archive again."), file=name
        )
        data = bytearray(info.file_size)
        view = memoryview(data)
        filled = 0
        try:
            with self.zip.open(info) as opened:
                member = cast(zipfile.ZipExtFile, opened)
                # zipfile never inflates past the declared size, and the CRC check at the end
                # rejects a member whose real content differs: memory stays bounded.
                while filled < info.file_size and (count := member.readinto(view[filled : filled + CHUNK])):
                    filled += count
                if filled != info.file_size or member.read(1):
                    raise damaged
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
            raise damaged from None
        except RuntimeError:  # encrypted with a scheme zipfile reports this way
            raise ArchiveError(
                N_("This zip file is protected by a password. Use the archive exactly as X sent it.")
            ) from None
        finally:
            view.release()
        return data  # type: ignore[return-value]  # a bytearray reads like bytes, without a copy


class FileSource:
    """Files on disk: an unzipped archive folder, or loose files picked one by one."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    @classmethod
    def from_folder(cls, folder: Path) -> FileSource:
        files = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[path.relative_to(folder).as_posix()] = path
        return cls(files)

    def names(self) -> list[str]:
        return list(self.files)

    def close(self) -> None:
        pass

    def size(self, name: str) -> int:
        return self.files[name].stat().st_size

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        size = self.size(name)
        if size > limit:
            raise _too_large(name, size)
        return self.files[name].read_bytes()


class CombinedSource:
    """Several sources read as one: the parts of an archive X sent as several zip files (each holds
    some of the data files), with any loose files picked beside them. A name found in two parts is
    read from the first."""

    def __init__(self, sources: list[ArchiveSource]) -> None:
        self.sources = sources
        self.owners: dict[str, ArchiveSource] = {}
        for source in sources:
            for name in source.names():
                self.owners.setdefault(name, source)

    def names(self) -> list[str]:
        return list(self.owners)

    def close(self) -> None:
        for source in self.sources:
            source.close()

    def size(self, name: str) -> int:
        return self.owners[name].size(name)

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        return self.owners[name].read(name, limit)


def _head(path: Path, count: int = 64) -> bytes:
    with path.open("rb") as handle:
        return handle.read(count)


def _looks_like_car(head: bytes) -> bool:
    """A CAR file (Bluesky's repository export) starts with a varint and a CBOR header naming 'roots'."""
    return len(head) > 2 and head[0] < 0x80 and CAR_HINT in head[:40] and b"version" in head[:60]


def open_single_file(path: Path) -> ArchiveSource:
    head = _head(path)
    if head.startswith(ZIP_MAGIC):
        return ZipSource(path.open("rb"), path.name)
    if _looks_like_car(head):
        raise ArchiveError(
            N_("This is a Bluesky account export (a CAR file), not an X archive. Pick the zip file that X sent you.")
        )
    if path.suffix.lower() == ".js":
        return FileSource({path.name: path})
    if path.suffix.lower() == ".zip" or not head:
        raise ArchiveError(
            N_("The file %(file)s is not a zip file, or it is incomplete. Download your archive again."),
            file=path.name,
        )
    raise ArchiveError(N_("The file %(file)s is not an X archive. Pick the zip file that X sent you."), file=path.name)


def open_source(paths: Iterable[Path]) -> ArchiveSource:
    """The source behind what the person picked: one zip, one folder, or several loose files."""
    picked = [Path(p) for p in paths]
    if not picked:
        raise ArchiveError(N_("No file was picked."))
    for path in picked:
        if not path.exists():
            raise ArchiveError(N_("The file %(file)s cannot be found."), file=path.name)
    if len(picked) == 1 and picked[0].is_dir():
        return FileSource.from_folder(picked[0])
    if len(picked) == 1:
        return open_single_file(picked[0])
    zips = [p for p in picked if p.is_file() and _head(p, 4).startswith(ZIP_MAGIC)]
    files: dict[str, Path] = {}
    for path in picked:
        if path in zips:
            continue
        if path.is_dir():
            for name, file in FileSource.from_folder(path).files.items():
                files[f"{path.name}/{name}"] = file
        else:
            files[path.name] = path
    if not zips:
        return FileSource(files)
    sources: list[ArchiveSource] = []
    try:
        for path in zips:  # the parts of a split archive, each read where it lies
            sources.append(ZipSource(path.open("rb"), path.name))
    except ArchiveError:
        CombinedSource(sources).close()
        raise
    return CombinedSource([*sources, FileSource(files)] if files else sources)
