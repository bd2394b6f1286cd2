"""The agent's sound output: carries out the device core's ``Sound`` and ``Silence`` on a real sink.

What plays when, from where and at which volume is decided by ``loa.protocol.device`` (the same core
the simulator runs); this module only turns a segment into sound from the local cache and tells the
core when the output could not (``on_failed``: a missing file, a failing ALSA device).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from loa.agent.sinks import Segment, Sink, SinkError
from loa.agent.storage import AudioCache
from loa.protocol.device.signals import Silence, Sound

log = logging.getLogger(__name__)

# A segment that reached its planned end may still be finishing in the sink (a few ms of audio, the
# file sink's log line): the next one waits this long for it before cutting it.
HANDOVER_GRACE_S = 0.3


def now_ms() -> int:
    return int(time.time() * 1000)


class SoundOutput:
    def __init__(self, sink: Sink, cache: AudioCache, on_failed: Callable[[str, str], None]) -> None:
        self.sink = sink
        self.cache = cache
        self.on_failed = on_failed
        # The sound output itself failed on the last item it was given (reported in the status as
        # ``output_state``; a missing file is a download problem, not the output's).
        self.failing = False
        self._current: tuple[str, asyncio.Task[None]] | None = None

    def start(self, sound: Sound) -> None:
        previous = self._current[1] if self._current is not None else None
        task = asyncio.create_task(self._play(previous, sound), name=f"sound-{sound.item.id}")
        self._current = (sound.item.id, task)

    def stop(self, silence: Silence) -> None:
        """Cut the segment now; one that simply reached its end is left to finish by itself."""
        if silence.cut and self._current is not None and self._current[0] == silence.item_id:
            self._current[1].cancel()

    async def close(self) -> None:
        if self._current is not None:
            task = self._current[1]
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _play(self, previous: asyncio.Task[None] | None, sound: Sound) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait({previous}, timeout=HANDOVER_GRACE_S)
            previous.cancel()
        item = sound.item
        path = self.cache.path(item.audio_sha256)
        if path is None:
            self.on_failed(item.id, "audio_missing")
            return
        segment = Segment(
            item_id=item.id,
            audio_sha256=item.audio_sha256,
            path=path,
            offset_ms=sound.offset_ms,
            duration_ms=sound.duration_ms,
            volume=sound.volume,
            starts_item=sound.starts_item,
        )
        try:
            await self.sink.play(segment)
        except asyncio.CancelledError:
            raise
        except SinkError as err:
            self.failing = True
            self.on_failed(item.id, f"sink: {err}"[:200])
        except Exception as err:
            log.warning("output failed for %s: %s", item.id, err)
            self.failing = True
            self.on_failed(item.id, "sink_error")
        else:
            self.failing = False
