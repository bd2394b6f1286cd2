"""The content-addressed store: key = SHA-256 of the bytes, atomic writes, nothing half-written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from loa.errors import InvalidInput, NotFound
from loa.speech.store import AudioStore, LocalAudioStore, object_key


def test_put_open_exists_size(tmp_path: Path) -> None:
    store: AudioStore = LocalAudioStore(tmp_path)
    data = b"ID3" + os.urandom(5000)
    stored = store.put(data, "mp3")
    sha = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == sha and stored.size_bytes == len(data) and stored.created
    assert stored.key == f"{sha[:2]}/{sha[2:4]}/{sha}.mp3"
    assert (tmp_path / stored.key).read_bytes() == data
    assert store.exists(sha, "mp3") and not store.exists(sha, "opus")
    assert store.size(sha, "mp3") == len(data)
    with store.open(sha, "mp3") as handle:
        assert handle.read() == data
    assert store.local_path(sha, "mp3") == tmp_path / object_key(sha, "mp3")
    again = store.put(data, "mp3")
    assert not again.created and again.sha256 == sha
    assert len(list(tmp_path.rglob("*.mp3"))) == 1


def test_missing_and_malformed_keys(tmp_path: Path) -> None:
    store = LocalAudioStore(tmp_path)
    with pytest.raises(NotFound):
        store.open("0" * 64, "mp3")
    with pytest.raises(NotFound):
        store.size("0" * 64, "mp3")
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(InvalidInput):
            store.exists(bad, "mp3")
    with pytest.raises(InvalidInput):
        store.exists("0" * 64, "../x")


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: the disk fails at fsync (e.g. full). Neither the final file nor a temporary
    one may remain."""
    store = LocalAudioStore(tmp_path)

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        store.put(b"half a file", "mp3")
    monkeypatch.undo()
    assert store.partial_files() == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_old_leftovers_of_a_crash_are_cleaned(tmp_path: Path) -> None:
    store = LocalAudioStore(tmp_path)
    store.temp_dir.mkdir(parents=True)
    old = store.temp_dir / "abc-123.part"
    old.write_bytes(b"x")
    os.utime(old, (0, 0))
    fresh = store.temp_dir / "def-456.part"
    fresh.write_bytes(b"y")  # may belong to a write in progress in another process
    assert store.clean_partial_files() == 1
    assert store.partial_files() == [fresh]
