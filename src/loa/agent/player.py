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

from loa.agent.sinks import PcmOut, Segment, Sink, SinkError
from loa.agent.storage import AudioCache
from loa.agent.streams import StreamPlayer, StreamSettings, can_decode, decode_file
from loa.agent.switch import OutputSwitch
from loa.protocol.device.signals import Event, Silence, Sound, StreamDown, StreamUp

log = logging.getLogger(__name__)

# A segment that reached its planned end may still be finishing in the sink (a few ms of audio, the
# file sink's log line): the next one waits this long for it before cutting it.
HANDOVER_GRACE_S = 0.3


def now_ms() -> int:
    return int(time.time() * 1000)


class SoundOutput:
    def __init__(
        self,
        sink: Sink,
        cache: AudioCache,
        on_failed: Callable[[str, str], None],
        *,
        on_stream: Callable[[Event], None] | None = None,
        stream_settings: StreamSettings | None = None,
        switch: OutputSwitch | None = None,
    ) -> None:
        self.switch = switch
        self.sink = sink
        self.cache = cache
        self.on_failed = on_failed
        self.on_stream = on_stream or (lambda event: None)
        self.stream_settings = stream_settings or StreamSettings()
        self._current: tuple[str, asyncio.Task[None]] | None = None
        self.last_stream: StreamPlayer | None = None  # for the bench: its first audio, its connects

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
        try:
            await self._play_one(previous, sound)
        finally:
            current = self._current
            if self.switch is not None and (current is None or current[1] is asyncio.current_task()):
                self.switch.idle()  # nothing else took the loudspeaker: off after the hold time

    async def _play_one(self, previous: asyncio.Task[None] | None, sound: Sound) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait({previous}, timeout=HANDOVER_GRACE_S)
            previous.cancel()
        if self.switch is not None:
            await self.switch.ready()  # never raises: a failing switch is reported, the sound plays
        item = sound.item
        if item.stream_url is not None:
            await self._play_stream(sound, item.stream_url)
            return
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
            self.on_failed(item.id, f"sink: {err}"[:200])
        except Exception as err:
            log.warning("output failed for %s: %s", item.id, err)
            self.on_failed(item.id, "sink_error")

    async def _play_stream(self, sound: Sound, url: str) -> None:
        item = sound.item
        if not can_decode():
            self.on_failed(item.id, "stream_decoder_missing")  # PyAV is not installed (docs/agent.md)
            return
        fallback = b""
        path = self.cache.path(item.audio_sha256) if item.audio_sha256 else None
        if path is not None:
            try:
                fallback = await asyncio.to_thread(decode_file, path)
            except Exception as err:  # a clip that does not decode: silence instead
                log.warning("fallback clip of %s does not decode: %s", item.id, err)
        out: PcmOut | None = None
        try:
            out = self.sink.open_pcm(item.id)
            player = StreamPlayer(
                url,
                out,
                volume=sound.volume,
                settings=self.stream_settings,
                on_down=lambda detail: self.on_stream(StreamDown(item.id, detail)),
                on_up=lambda: self.on_stream(StreamUp(item.id)),
                fallback=fallback,
            )
            self.last_stream = player
            await player.run(sound.duration_ms)
        except asyncio.CancelledError:
            raise
        except SinkError as err:
            self.on_failed(item.id, f"sink: {err}"[:200])
        except Exception as err:
            log.warning("output failed for %s: %s", item.id, err)
            self.on_failed(item.id, "sink_error")
        finally:
            if out is not None:
                out.close()
