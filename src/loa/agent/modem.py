"""The GSM modem of a loudspeaker, on a serial port, spoken to with AT commands (3GPP TS 27.005, text
mode). The one seam to the SMS network: tests put a fake modem on the other end of a pty.

    AT           → OK                              (is anyone there)
    ATE0         → OK                              (no echo)
    AT+CMGF=1    → OK                              (text mode)
    AT+CNMI=2,1,0,0,0 → OK                         (announce new messages as +CMTI)
    AT+CMGL="REC UNREAD" → +CMGL: 3,"REC UNREAD","+849…",,"26/12/07,21:30:00+28" / text / … / OK
                                                   (messages that came while the agent was down)
    +CMTI: "SM",4                                  (unsolicited: message 4 arrived)
    AT+CMGR=4    → +CMGR: "REC UNREAD","+849…",,"…" / text / OK
    AT+CMGD=4    → OK                              (deleted, so the SIM never fills up)

Blocking I/O in a thread (a serial port is a file descriptor; the board has no asyncio serial
library), handing each text to ``on_text`` on the agent's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import select
import termios
import tty
from collections.abc import Callable

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 5.0
_CMTI = re.compile(r'^\+CMTI:\s*"[^"]*",\s*(\d+)')
_CMGL = re.compile(r'^\+CMGL:\s*(\d+),"[^"]*","([^"]*)"')
_CMGR = re.compile(r'^\+CMGR:\s*"[^"]*","([^"]*)"')
_FINAL = ("OK", "ERROR")


class ModemError(Exception):
    pass


class AtModem:
    def __init__(
        self, path: str, on_text: Callable[[str, str], object], *, baud: int = termios.B115200
    ) -> None:
        self.path = path
        self.on_text = on_text  # (sender, text), called in the modem's thread
        self.baud = baud
        self._fd = -1
        self._buffer = b""
        self._pending: list[int] = []  # message indexes announced while a command ran
        self._stop = False

    # --- the line protocol ---------------------------------------------------------------------

    def open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        if os.isatty(self._fd):
            tty.setraw(self._fd)
            attrs = termios.tcgetattr(self._fd)
            attrs[4] = attrs[5] = self.baud
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def _readline(self, timeout_s: float) -> str | None:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._fd], [], [], timeout_s)
            if not ready:
                return None
            chunk = os.read(self._fd, 1024)
            if not chunk:
                raise ModemError("the serial port closed")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace").strip("\r ")

    def command(self, text: str) -> list[str]:
        """Send one AT command; the lines of its answer (without the final OK). An unsolicited +CMTI
        arriving meanwhile is remembered."""
        os.write(self._fd, text.encode() + b"\r")
        lines: list[str] = []
        while True:
            line = self._readline(READ_TIMEOUT_S)
            if line is None:
                raise ModemError(f"no answer to {text}")
            if not line or line == text:
                continue  # blank, or an echo before ATE0 took effect
            cmti = _CMTI.match(line)
            if cmti:
                self._pending.append(int(cmti[1]))
                continue
            if line in _FINAL or line.startswith("+CMS ERROR") or line.startswith("+CME ERROR"):
                if line != "OK":
                    raise ModemError(f"{text}: {line}")
                return lines
            lines.append(line)

    # --- messages ------------------------------------------------------------------------------

    def start(self) -> None:
        for text in ("AT", "ATE0", "AT+CMGF=1", "AT+CNMI=2,1,0,0,0"):
            self.command(text)
        stored = self.command('AT+CMGL="REC UNREAD"')
        for index, sender, text in _listed(stored):
            self._deliver(sender, text)
            self.command(f"AT+CMGD={index}")

    def read_message(self, index: int) -> None:
        lines = self.command(f"AT+CMGR={index}")
        header = _CMGR.match(lines[0]) if lines else None
        if header is not None:
            self._deliver(header[1], "\n".join(lines[1:]))
        self.command(f"AT+CMGD={index}")

    def _deliver(self, sender: str, text: str) -> None:
        try:
            self.on_text(sender, text)
        except Exception:  # one bad message must not stop the reader
            log.exception("SMS not handled")

    def serve(self) -> None:
        """Open, set up, then wait for messages until ``stop``; raises ``ModemError``/``OSError`` for
        the caller's retry."""
        self.open()
        try:
            self.start()
            while not self._stop:
                while self._pending:
                    self.read_message(self._pending.pop(0))
                line = self._readline(0.5)
                if line:
                    cmti = _CMTI.match(line)
                    if cmti:
                        self._pending.append(int(cmti[1]))
        finally:
            self.close()

    def stop(self) -> None:
        self._stop = True


def _listed(lines: list[str]) -> list[tuple[int, str, str]]:
    """(index, sender, text) of a +CMGL answer: a header line, then the text up to the next header."""
    out: list[tuple[int, str, str]] = []
    for line in lines:
        header = _CMGL.match(line)
        if header is not None:
            out.append((int(header[1]), header[2], ""))
        elif out:
            index, sender, text = out[-1]
            out[-1] = (index, sender, f"{text}\n{line}" if text else line)
    return out


async def run_modem(path: str, on_text: Callable[[str, str], object]) -> None:
    """Serve the modem in a thread, texts handed to ``on_text`` on this event loop; returns (for the
    supervisor's retry) when the port fails."""
    loop = asyncio.get_running_loop()
    modem = AtModem(path, lambda sender, text: loop.call_soon_threadsafe(on_text, sender, text))
    try:
        await asyncio.to_thread(modem.serve)
    except (ModemError, OSError) as err:
        log.warning("modem %s: %s", path, err)
        raise
    finally:
        modem.stop()
