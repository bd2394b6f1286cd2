"""The output switch (issue 14.4): an amplifier, an FM or a wired transmitter of an older system that
is turned on before the loudspeaker plays and off after, so the old system becomes one more output
of the station.

Either a command (an argument list, run without a shell: ``["gpioset", "-z", "gpiochip0", "17=1"]``,
a relay board's tool, a script) for on and for off, or a file written ``1``/``0`` (a sysfs GPIO
``value`` file, or any file a test reads). It is turned on ``warm_up_ms`` before the next planned
item (the agent looks ahead in the device core's plan), or at once for an item that starts now (its
sound then waits the rest of the warm-up); it is turned off ``hold_s`` after the last item ended, so
items back to back do not toggle it. A failure is logged once, kept for the status
(``output_switch_error``) and never stops or delays the sound beyond the warm-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 10.0


class OutputSwitchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_command: list[str] | None = Field(default=None, min_length=1)
    off_command: list[str] | None = Field(default=None, min_length=1)
    path: Path | None = None  # written "1" (on) and "0" (off)
    warm_up_ms: int = Field(default=1000, ge=0, le=60_000)
    hold_s: float = Field(default=30.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _one_way(self) -> OutputSwitchConfig:
        commands = self.on_command is not None or self.off_command is not None
        if commands and (self.on_command is None or self.off_command is None):
            raise ValueError("output_switch: on_command và off_command phải đi cùng nhau")
        if commands == (self.path is not None):
            raise ValueError("output_switch: cần đúng một cách bật tắt (on_command/off_command hoặc path)")
        return self


class OutputSwitch:
    def __init__(self, config: OutputSwitchConfig) -> None:
        self.config = config
        self.on = False
        self.on_since: float | None = None  # monotonic instant it was turned on
        self.error: str | None = None
        self.toggles = 0
        self._off_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def off_pending(self) -> bool:
        return self._off_task is not None and not self._off_task.done()

    async def ensure_on(self) -> None:
        """On (if not already), and no pending turn-off."""
        self._cancel_off()
        async with self._lock:
            if self.on:
                return
            self.on, self.on_since = True, time.monotonic()  # counted on even if it failed: no retry storm
            await self._set(True)

    async def ready(self) -> None:
        """Turn on if needed and wait out the rest of the warm-up (the first sound waits for it)."""
        await self.ensure_on()
        if self.on_since is not None:
            left = self.config.warm_up_ms / 1000 - (time.monotonic() - self.on_since)
            if left > 0:
                await asyncio.sleep(left)

    def idle(self) -> None:
        """The loudspeaker fell silent: off after the hold time, unless something plays first."""
        self._cancel_off()
        if self.on:
            self._off_task = asyncio.create_task(self._off_later(), name="output-switch-off")

    async def close(self) -> None:
        self._cancel_off()
        if self.on:
            async with self._lock:
                self.on = False
                await self._set(False)

    def _cancel_off(self) -> None:
        if self._off_task is not None and self._off_task is not asyncio.current_task():
            self._off_task.cancel()
        self._off_task = None

    async def _off_later(self) -> None:
        await asyncio.sleep(self.config.hold_s)
        async with self._lock:
            if self.on:
                self.on, self.on_since = False, None
                await self._set(False)

    async def _set(self, on: bool) -> None:
        self.toggles += 1
        word = "on" if on else "off"
        try:
            if self.config.path is not None:
                await asyncio.to_thread(self.config.path.write_text, "1" if on else "0")
            else:
                argv = self.config.on_command if on else self.config.off_command
                assert argv is not None
                proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
                try:
                    code = await asyncio.wait_for(proc.wait(), COMMAND_TIMEOUT_S)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                    raise OSError(f"{argv[0]} did not finish in {COMMAND_TIMEOUT_S:.0f} s") from None
                if code != 0:
                    raise OSError(f"{argv[0]} exited with {code}")
        except Exception as err:  # never stops the sound: reported in the status
            detail = f"{word}: {err}"[:200]
            if self.error != detail:
                log.warning("output switch %s failed: %s", word, err)
            self.error = detail
            return
        if self.error is not None:
            log.info("output switch works again")
        self.error = None
        log.info("output switch %s", word)
