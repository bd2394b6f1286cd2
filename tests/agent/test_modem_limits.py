"""The AT reader (``loa.agent.modem``) against a broken or hostile modem, on the fake modem's pty of
``tests/agent/test_sms_trigger.py`` (the modem is outside the machine):

* bytes that never end a line do not grow the reader's buffer past ``MAX_LINE_BYTES`` (plus one read):
  the over-long line is dropped with a warning and the next message is still read;
* a command whose answer never ends (endless lines, no ``OK``; or a trickle with no newline) fails with
  ``ModemError`` within bounds — ``MAX_ANSWER_BYTES``, ``ANSWER_TIMEOUT_S`` — for the supervisor's retry,
  instead of holding the reader (and its memory) forever."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from loa.agent import modem as modem_mod
from loa.agent.modem import AtModem, ModemError
from tests.agent.test_sms_trigger import FakeModem

PHONE = "+84905123456"


class MeasuredModem(AtModem):
    """The real reader; its line buffer's largest size is recorded."""

    peak = 0

    @property
    def _buffer(self) -> bytes:
        return self.__dict__["_measured_buffer"]  # type: ignore[no-any-return]

    @_buffer.setter
    def _buffer(self, value: bytes) -> None:
        self.__dict__["_measured_buffer"] = value
        self.peak = max(self.peak, len(value))


class SilentFake(FakeModem):
    """Says nothing itself to ``AT+CSQ``: what the modem "answers" is written by the test."""

    def _answer(self, command: str) -> str:
        return "" if command == "AT+CSQ" else super()._answer(command)


@pytest.fixture
def fake() -> Iterator[FakeModem]:
    modem = SilentFake()
    yield modem
    modem.close()


def _write_in_chunks(fake: FakeModem, data: bytes, chunk: int = 4096) -> None:
    for start in range(0, len(data), chunk):
        fake._write(data[start : start + chunk].decode())


def test_a_line_that_never_ends_is_dropped_and_reading_goes_on(
    fake: FakeModem, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[tuple[str, str]] = []
    reader = MeasuredModem(fake.path, lambda sender, text: received.append((sender, text)))
    thread = threading.Thread(target=reader.serve, daemon=True)
    caplog.set_level(logging.WARNING, logger="loa.agent.modem")
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while 'AT+CMGL="REC UNREAD"' not in fake.commands:
            assert time.monotonic() < deadline, "the reader never set the modem up"
            time.sleep(0.02)
        flood = 1024 * 1024  # 1 MiB and never a newline
        _write_in_chunks(fake, b"X" * flood)
        fake.arrive(PHONE, "LOA 4 1796198400 AAAAAAAAAA")
        while not received:
            assert time.monotonic() < deadline + 20, "the message after the flood was never read"
            time.sleep(0.02)
    finally:
        reader.stop()
        thread.join(timeout=5)
    assert received == [(PHONE, "LOA 4 1796198400 AAAAAAAAAA")]
    assert reader.peak < 64 * 1024, reader.peak  # not the 1 MiB it was sent
    assert reader.peak <= modem_mod.MAX_LINE_BYTES + 1024  # a line at most, plus one read
    assert any("longer than" in r.getMessage() for r in caplog.records)
    assert not fake.sim  # read and deleted


def _command_in_thread(reader: AtModem, text: str, within_s: float) -> BaseException | list[str]:
    outcome: list[BaseException | list[str]] = []

    def run() -> None:
        try:
            outcome.append(reader.command(text))
        except BaseException as err:  # handed to the test
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=within_s)
    assert outcome, f"{text} still waiting after {within_s} s"
    return outcome[0]


def test_an_answer_of_endless_lines_fails_the_command(fake: FakeModem) -> None:
    stop = threading.Event()
    reader = MeasuredModem(fake.path, lambda sender, text: None)
    reader.open()

    def flood() -> None:  # "+CSQ: 20,99" forever, never OK
        while not stop.is_set():
            try:
                fake._write("+CSQ: 20,99\r\n" * 300)
            except OSError:
                return

    threading.Thread(target=flood, daemon=True).start()
    try:
        outcome = _command_in_thread(reader, "AT+CSQ", within_s=20)
    finally:
        stop.set()
        reader.close()
    assert isinstance(outcome, ModemError) and "too long" in str(outcome), outcome
    assert reader.peak <= modem_mod.MAX_LINE_BYTES + 1024


def test_a_trickle_without_newline_fails_the_command_in_time(
    fake: FakeModem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(modem_mod, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(modem_mod, "ANSWER_TIMEOUT_S", 1.0, raising=False)
    stop = threading.Event()
    reader = MeasuredModem(fake.path, lambda sender, text: None)
    reader.open()

    def trickle() -> None:  # one byte every 0.1 s: select never times out
        while not stop.is_set():
            try:
                fake._write("Z")
            except OSError:
                return
            time.sleep(0.1)

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        outcome = _command_in_thread(reader, "AT+CSQ", within_s=10)
    finally:
        stop.set()
        reader.close()
    assert isinstance(outcome, ModemError), outcome
    assert time.monotonic() - started < 5
