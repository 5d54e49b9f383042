"""RPM packages: the SQLite package database (``rpmdb.sqlite``), header blobs parsed here.

The database is opened from memory (``sqlite3`` deserialization, nothing written to disk; a
WAL-mode header is switched to rollback mode first, as an in-memory database has no WAL); each
row of ``Packages`` holds one package header blob: a count of index entries ``il`` and the data
size ``dl`` (32-bit big-endian), ``il`` 16-byte entries (tag, type, offset, count) and the data
store. Berkeley DB (``Packages``) and NDB (``Packages.db``) databases are recorded as unsupported.
"""

from __future__ import annotations

import sqlite3
import struct

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "rpm"
VERSION = 1

SQLITE_PATHS = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
BDB_PATHS = ("/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages")
NDB_PATHS = ("/var/lib/rpm/Packages.db", "/usr/lib/sysimage/rpm/Packages.db")

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH = 1000, 1001, 1002, 1003
TAG_LICENSE, TAG_VENDOR, TAG_ARCH, TAG_SOURCERPM = 1014, 1011, 1022, 1044
_WANTED = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_LICENSE, TAG_VENDOR, TAG_ARCH, TAG_SOURCERPM}
TYPE_INT32, TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING = 4, 6, 8, 9
_MAX_ENTRIES = 100_000


def parse_header(blob: bytes) -> dict[int, str | int]:
    """The wanted tags of one header blob (strings, or integers for ``INT32`` tags such as the epoch)."""
    if len(blob) < 8:
        raise ParseError("header blob is too short")
    count, data_size = struct.unpack_from(">II", blob, 0)
    if count > _MAX_ENTRIES or 8 + 16 * count + data_size > len(blob):
        raise ParseError("header blob sizes do not fit the blob")
    store = 8 + 16 * count
    tags: dict[int, str | int] = {}
    for entry in range(count):
        tag, kind, offset, items = struct.unpack_from(">iIiI", blob, 8 + 16 * entry)
        if tag not in _WANTED or offset < 0 or offset >= data_size or items == 0:
            continue
        start = store + offset
        if kind == TYPE_INT32:
            if offset + 4 > data_size:
                raise ParseError(f"tag {tag} runs past the data store")
            tags[tag] = struct.unpack_from(">i", blob, start)[0]
        elif kind in (TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING):
            end = blob.find(b"\x00", start, store + data_size)
            if end < 0:
                raise ParseError(f"tag {tag} has an unterminated string")
            tags[tag] = blob[start:end].decode("utf-8", "replace")
    return tags


def parse_sqlite(path: str, data: bytes, context: ParseContext) -> FileResult:
    """Every package of an ``rpmdb.sqlite`` file (``gpg-pubkey`` pseudo-packages excepted)."""
    image = bytearray(data)
    if image[:16] == b"SQLite format 3\x00" and image[18:20] == b"\x02\x02":
        image[18:20] = b"\x01\x01"  # a WAL-mode database cannot be opened from memory; its pages read the same
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(bytes(image))
        rows = connection.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.Error as error:
        raise ParseError(f"not a readable rpm SQLite database ({error})") from None
    finally:
        connection.close()
    packages: list[PackageRecord] = []
    problems: list[str] = []
    for (blob,) in rows:
        try:
            tags = parse_header(bytes(blob))
        except ParseError as error:
            problems.append(error.message)
            continue
        name, version = tags.get(TAG_NAME), tags.get(TAG_VERSION)
        if not isinstance(name, str) or not isinstance(version, str) or name == "gpg-pubkey":
            continue
        meta = {
            "release": tags.get(TAG_RELEASE),
            "arch": tags.get(TAG_ARCH),
            "epoch": tags.get(TAG_EPOCH),
            "source_rpm": tags.get(TAG_SOURCERPM),
            "license": tags.get(TAG_LICENSE),
            "vendor": tags.get(TAG_VENDOR),
        }
        full_version = f"{version}-{meta['release']}" if meta["release"] else version
        if meta["epoch"] is not None:
            full_version = f"{meta['epoch']}:{full_version}"
        packages.append(
            PackageRecord("rpm", name, full_version, {k: str(v) for k, v in meta.items() if v is not None and v != ""})
        )
    return FileResult(packages=tuple(packages), problems=tuple(problems))


def parse_unsupported(path: str, data: bytes, context: ParseContext) -> FileResult:
    """Berkeley DB and NDB databases: recorded as a problem, with the reason."""
    kind = "NDB" if path.endswith(".db") else "Berkeley DB"
    return FileResult(problems=(f"rpm {kind} databases are not supported (only rpmdb.sqlite is read)",))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:rpm/fedora/bash@5.2.15-3.fc38?arch=x86_64&distro=fedora-38`` (``epoch`` and ``upstream`` when known)."""
    epoch = record.meta.get("epoch")
    version = record.version.split(":", 1)[1] if epoch and record.version.startswith(f"{epoch}:") else record.version
    return purl(
        "rpm",
        record.name,
        version,
        namespace=os.id if os else None,
        qualifiers={
            "arch": record.meta.get("arch"),
            "epoch": epoch,
            "distro": os.distro if os else None,
            "upstream": record.meta.get("source_rpm"),
        },
    )


def cataloger() -> GlobCataloger:
    """The rpm cataloger."""
    return GlobCataloger(
        NAME,
        VERSION,
        [Parser(SQLITE_PATHS, parse=parse_sqlite), Parser(BDB_PATHS + NDB_PATHS, parse=parse_unsupported)],
        package_url,
    )
