"""Content-addressed audio store: the key of a file is the SHA-256 of its bytes.

``LocalAudioStore`` keeps files under ``settings.audio_dir`` as ``ab/cd/<sha256>.<ext>``. Writes are
atomic (temporary file in the same file system, fsync, rename, fsync of the directory), so a reader
or a crash never sees half a file; the same bytes stored twice are one file. The ``AudioStore``
protocol is what the rest of Loa uses, so an S3-compatible store can replace it (``put`` = PUT with
the SHA-256 as key and checksum; ``open`` = GET; ``exists``/``size`` = HEAD).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from loa.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")
TEMP_DIR_NAME = ".incoming"


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


def _check_key(sha256: str, extension: str) -> None:
    if not is_sha256(sha256):
        raise InvalidInput("Mã tệp âm thanh không hợp lệ.", code="invalid_audio_key")
    if not _EXTENSION.match(extension):
        raise InvalidInput("Định dạng tệp âm thanh không hợp lệ.", code="invalid_audio_key")


@dataclass(frozen=True)
class StoredObject:
    sha256: str
    extension: str
    size_bytes: int
    created: bool  # False when identical bytes were already stored

    @property
    def key(self) -> str:
        return object_key(self.sha256, self.extension)


def object_key(sha256: str, extension: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


class AudioStore(Protocol):
    def put(self, data: bytes, extension: str) -> StoredObject: ...

    def exists(self, sha256: str, extension: str) -> bool: ...

    def size(self, sha256: str, extension: str) -> int: ...

    def open(self, sha256: str, extension: str) -> BinaryIO: ...

    def local_path(self, sha256: str, extension: str) -> Path | None:
        """A path on this machine (lets the web server send the file itself), or None."""
        ...


class LocalAudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def temp_dir(self) -> Path:
        return self.root / TEMP_DIR_NAME

    def _path(self, sha256: str, extension: str) -> Path:
        _check_key(sha256, extension)
        return self.root / object_key(sha256, extension)

    def put(self, data: bytes, extension: str) -> StoredObject:
        sha256 = hashlib.sha256(data).hexdigest()
        final = self._path(sha256, extension)
        if final.exists() and final.stat().st_size == len(data):
            return StoredObject(sha256, extension, len(data), created=False)
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f"{sha256[:12]}-", suffix=".part", dir=self.temp_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, final)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        log.debug("stored audio %s (%d bytes)", object_key(sha256, extension), len(data))
        return StoredObject(sha256, extension, len(data), created=True)

    def exists(self, sha256: str, extension: str) -> bool:
        return self._path(sha256, extension).is_file()

    def size(self, sha256: str, extension: str) -> int:
        try:
            return self._path(sha256, extension).stat().st_size
        except FileNotFoundError as err:
            raise NotFound("Không tìm thấy tệp âm thanh.") from err

    def open(self, sha256: str, extension: str) -> BinaryIO:
        try:
            return self._path(sha256, extension).open("rb")
        except FileNotFoundError as err:
            raise NotFound("Không tìm thấy tệp âm thanh.") from err

    def local_path(self, sha256: str, extension: str) -> Path | None:
        path = self._path(sha256, extension)
        return path if path.is_file() else None

    def partial_files(self) -> list[Path]:
        """Temporary files left behind (only by a crash mid-write; normally empty)."""
        if not self.temp_dir.is_dir():
            return []
        return sorted(p for p in self.temp_dir.iterdir() if p.is_file())

    def clean_partial_files(self, older_than_s: float = 3600.0) -> int:
        """Remove leftovers of a crash. Only old ones: another process may be writing right now."""
        removed = 0
        cutoff = time.time() - older_than_s
        for path in self.partial_files():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
