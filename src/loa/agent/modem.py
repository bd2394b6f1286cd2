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
library), handing each text to ``on_text`` on the agent's event loop.

What the modem sends is bounded as input from outside: a line longer than ``MAX_LINE_BYTES`` is dropped
(with a warning) and reading goes on at the next newline, so a broken modem that never ends a line does
not grow the buffer; a command's answer must end (``OK``/``ERROR``) within ``ANSWER_TIMEOUT_S`` and
``MAX_ANSWER_BYTES``, else ``ModemError`` (the supervisor reopens the port later)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import select
import termios
import time
import tty
from collections.abc import Callable

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 5.0  # for the next line of an answer
ANSWER_TIMEOUT_S = 30.0  # for a whole answer (a full SIM listed at 9600 baud takes a few seconds)
MAX_LINE_BYTES = 4096  # an SMS text line is at most 160 characters (640 as UCS-2 hex)
MAX_ANSWER_BYTES = 256 * 1024  # a +CMGL of a full SIM (a few hundred messages) is far less
READ_CHUNK = 1024
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
        self._dropping = False  # inside a line longer than MAX_LINE_BYTES, until its newline
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
        """The next line (without its line end), or None when none is complete within ``timeout_s``.
        A line longer than ``MAX_LINE_BYTES`` is dropped, however long it goes on."""
        deadline = time.monotonic() + timeout_s
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                if self._dropping or end > MAX_LINE_BYTES:
                    self._dropping = False
                    continue  # the tail of an over-long line (or the whole of one)
                return line.decode("utf-8", "replace").strip("\r ")
            if len(self._buffer) > MAX_LINE_BYTES:
                if not self._dropping:
                    log.warning("modem %s: a line longer than %d bytes dropped", self.path, MAX_LINE_BYTES)
                self._dropping, self._buffer = True, b""
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._fd, READ_CHUNK)
            if not chunk:
                raise ModemError("the serial port closed")
            self._buffer += chunk

    def command(self, text: str) -> list[str]:
        """Send one AT command; the lines of its answer (without the final OK). An unsolicited +CMTI
        arriving meanwhile is remembered. ``ModemError`` for an error, or an answer that does not end
        within ``ANSWER_TIMEOUT_S`` and ``MAX_ANSWER_BYTES``."""
        os.write(self._fd, text.encode() + b"\r")
        lines: list[str] = []
        size = 0
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            line = self._readline(min(READ_TIMEOUT_S, max(0.0, deadline - time.monotonic())))
            if line is None:
                raise ModemError(f"no answer to {text}")
            size += len(line) + 1
            if size > MAX_ANSWER_BYTES:
                raise ModemError(f"the answer to {text} is too long")
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
