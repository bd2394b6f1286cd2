"""Where the server finds an audio file by its SHA-256 (the content-addressed store).

The speech package owns the store; this seam lets the fleet serve files without knowing its layout.
``app.state.audio_locator`` may replace the default (a callable ``sha256 -> Path | None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

AudioLocator = Callable[[str], Path | None]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
