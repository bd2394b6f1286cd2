"""Where the server finds an audio file by its SHA-256 (the content-addressed store).

The speech package owns the store (``loa.speech.store``: ``audio_dir/ab/cd/<sha256>.<ext>``); this seam
lets the fleet serve files without knowing more of it than its key function. ``create_app`` sets
``app.state.audio_locator`` (a callable ``sha256 -> Path | None``) from ``locator_for(settings)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from loa.settings import Settings
from loa.speech.store import LocalAudioStore, object_key

AudioLocator = Callable[[str], Path | None]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PREFERRED_EXTENSIONS = ("mp3", "opus", "wav")  # what devices play best first, if several exist


def directory_locator(root: Path) -> AudioLocator:
    """Files named ``<sha256>[.ext]`` directly in ``root`` or in ``root/<first two hex digits>/``."""

    def locate(sha256: str) -> Path | None:
        if not _SHA256.match(sha256):
            return None
        for folder in (root / sha256[:2], root):
            if not folder.is_dir():
                continue
            exact = folder / sha256
            if exact.is_file():
                return exact
            for candidate in sorted(folder.glob(f"{sha256}.*")):
                if candidate.is_file():
                    return candidate
        return None

    return locate


def store_locator(store: LocalAudioStore) -> AudioLocator:
    """Files of the speech store, whatever their extension."""

    def locate(sha256: str) -> Path | None:
        if not _SHA256.match(sha256):
            return None
        for extension in PREFERRED_EXTENSIONS:
            path = store.local_path(sha256, extension)
            if path is not None:
                return path
        folder = (store.root / object_key(sha256, "x")).parent
        if folder.is_dir():
            for candidate in sorted(folder.glob(f"{sha256}.*")):
                if candidate.is_file():
                    return candidate
        return None

    return locate


def locator_for(settings: Settings) -> AudioLocator:
    """The speech store first; then plain ``<sha256>[.ext]`` files dropped into ``audio_dir``."""
    in_store = store_locator(LocalAudioStore(settings.audio_dir))
    loose = directory_locator(settings.audio_dir)
    return lambda sha256: in_store(sha256) or loose(sha256)
