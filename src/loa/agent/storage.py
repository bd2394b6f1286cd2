"""Crash-safe files on the device. Power may fail at any instant; nothing we rely on may be torn.

* ``atomic_write``: temp file in the same directory, fsync, rename, fsync the directory.
* ``AudioCache``: a file appears under ``cache/`` only after its SHA-256 was verified; downloads
  grow in ``partial/`` (resumable with HTTP Range) and are never read for playback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on directories
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1).encode())


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None when missing or unreadable (a torn file cannot exist, but a
    hand-edited one might)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


class HashMismatch(Exception):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class AudioCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ready_dir = root / "cache"
        self.partial_dir = root / "partial"
        # ``aliases/<sha256>`` names the smaller rendition standing in for that file (a tight budget).
        self.alias_dir = root / "aliases"
        self.alias_dir.mkdir(parents=True, exist_ok=True)
        self.ready_dir.mkdir(parents=True, exist_ok=True)
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        for stray in self.ready_dir.glob(".*.tmp"):
            stray.unlink(missing_ok=True)

    def path(self, sha256: str) -> Path | None:
        if not _SHA256.match(sha256):
            return None
        path = self.ready_dir / sha256
        if path.is_file():
            return path
        stand_in = self.stand_in(sha256)
        if stand_in is not None and (self.ready_dir / stand_in).is_file():
            return self.ready_dir / stand_in
        return None

    def stand_in(self, sha256: str) -> str | None:
        try:
            value = (self.alias_dir / sha256).read_text().strip()
        except OSError:
            return None
        return value if _SHA256.match(value) else None

    def alias(self, sha256: str, smaller: str) -> None:
        """The cached file ``smaller`` (a smaller rendition, verified) plays where ``sha256`` is named."""
        atomic_write(self.alias_dir / sha256, smaller.encode())

    def has(self, sha256: str) -> bool:
        return self.path(sha256) is not None

    def shas(self) -> list[str]:
        """Every verified file in the cache by its SHA-256, and those a smaller rendition stands in for."""
        found = [p.name for p in self.ready_dir.iterdir() if p.is_file() and _SHA256.match(p.name)]
        stood = [p.name for p in self.alias_dir.iterdir() if _SHA256.match(p.name) and self.has(p.name)]
        return found + stood

    def partial(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256")
        return self.partial_dir / f"{sha256}.part"

    def commit(self, sha256: str) -> Path:
        """Verify the finished partial file and move it into the cache, or raise ``HashMismatch``
        (the partial is deleted: restarting from zero is the only safe retry)."""
        partial = self.partial(sha256)
        with open(partial, "rb+") as fh:
            os.fsync(fh.fileno())
        actual = sha256_file(partial)
        if actual != sha256:
            partial.unlink(missing_ok=True)
            raise HashMismatch(sha256, actual)
        target = self.ready_dir / sha256
        os.replace(partial, target)
        fsync_dir(self.ready_dir)
        return target

    def verify_all(self) -> list[str]:
        """Re-hash every cached file (at start-up); remove and return the ones that do not match."""
        bad = []
        for path in self.ready_dir.iterdir():
            if not path.is_file() or not _SHA256.match(path.name):
                continue
            if sha256_file(path) != path.name:
                path.unlink(missing_ok=True)
                bad.append(path.name)
        return bad

    def evict(self, keep: set[str]) -> int:
        for alias in self.alias_dir.iterdir():
            if alias.name not in keep:
                alias.unlink(missing_ok=True)
        keep = keep | {s for s in (self.stand_in(k) for k in keep) if s is not None}
        removed = 0
        for path in self.ready_dir.iterdir():
            if path.is_file() and path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.partial_dir.iterdir():
            if path.name.removesuffix(".part") not in keep:
                path.unlink(missing_ok=True)
        return removed
