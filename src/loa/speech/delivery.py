"""Sending stored audio over HTTP: whole file or byte ranges (browsers seek in ``<audio>`` with
Range requests), with caching headers that fit content-addressed, immutable files."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.responses import FileResponse

from loa.speech.audio.encode import PROFILES, AudioFormat
from loa.speech.models import AudioAsset
from loa.speech.store import AudioStore

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_READ_BYTES = 64 * 1024


def _headers(asset: AudioAsset, extension: str) -> dict[str, str]:
    return {
        "Cache-Control": "private, max-age=31536000, immutable",
        "ETag": f'"{asset.sha256}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="{asset.sha256[:16]}.{extension}"',
    }


def audio_response(request: Request, store: AudioStore, asset: AudioAsset) -> Response:
    profile = PROFILES[AudioFormat(asset.format)]
    headers = _headers(asset, profile.extension)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    path = store.local_path(asset.sha256, profile.extension)
    if path is not None:
        # Starlette serves the file from disk itself, including single and multiple byte ranges.
        return FileResponse(path, media_type=profile.media_type, headers=headers)
    size = store.size(asset.sha256, profile.extension)
    start, end = 0, size - 1
    status = 200
    match = _RANGE.match(request.headers.get("range", ""))
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:
            start = max(0, size - int(match.group(2)))
        if start > end or start >= size:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)

    def body() -> Iterator[bytes]:
        with store.open(asset.sha256, profile.extension) as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(_READ_BYTES, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=profile.media_type)
    return StreamingResponse(body(), status_code=status, headers=headers, media_type=profile.media_type)
