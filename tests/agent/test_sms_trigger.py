"""The SMS trigger through the real agent and a fake GSM modem on a pty (the modem is outside the
machine; ``os.openpty`` gives the agent a real serial line whose other end answers AT commands).

No data network (the server and the broker are unreachable): a message stored on the SIM while the
agent was down (forged) and a forged one arriving live are refused and counted; a valid code plays the
cached level-4 clip on the agent's sink — the 440 Hz tone is measured in what the sink played — until a
signed stop; the same valid SMS sent again is refused as a replay; every message is deleted from the
SIM."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.server
import io
import json
import math
import os
import threading
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from loa.agent.config import AgentConfig, Identity
from loa.agent.runtime import Agent
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol import sms
from loa.protocol.device import signals as s
from tests.support.device_table import DEVICE, KEY, PUBLIC, TOPICS

MASTER = bytes(range(100, 132))
DEVICE_KEY = sms.device_key(MASTER, DEVICE)
RATE = 16_000
CLIP_MS = 1_200


class FakeModem:
    """The modem end of a pty: answers the AT commands the agent sends, holds SMS in a tiny SIM."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the line stays up while the agent reopens it
        self.sim: dict[int, tuple[str, str]] = {}
        self.commands: list[str] = []
        self._next = 1
        self._lock = threading.Lock()
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def store(self, sender: str, text: str) -> int:
        with self._lock:
            index, self._next = self._next, self._next + 1
            self.sim[index] = (sender, text)
            return index

    def arrive(self, sender: str, text: str) -> None:
        index = self.store(sender, text)
        self._write(f'\r\n+CMTI: "SM",{index}\r\n')

    def _write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def _serve(self) -> None:
        pending = b""
        while not self._stop:
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            pending += chunk
            while b"\r" in pending:
                raw, _, pending = pending.partition(b"\r")
                command = raw.decode().strip()
                if command:
                    self.commands.append(command)
                    self._write(self._answer(command))

    def _answer(self, command: str) -> str:
        with self._lock:
            if command in ("AT", "ATE0", "AT+CMGF=1", "AT+CNMI=2,1,0,0,0"):
                return "\r\nOK\r\n"
            if command == 'AT+CMGL="REC UNREAD"':
                listed = "".join(
                    f'\r\n+CMGL: {i},"REC UNREAD","{sender}",,"26/12/07,21:30:00+28"\r\n{text}'
                    for i, (sender, text) in sorted(self.sim.items())
                )
                return listed + "\r\n\r\nOK\r\n"
            if command.startswith("AT+CMGR="):
                index = int(command.removeprefix("AT+CMGR="))
                if index not in self.sim:
                    return "\r\n+CMS ERROR: 321\r\n"
                sender, text = self.sim[index]
                return f'\r\n+CMGR: "REC UNREAD","{sender}",,"26/12/07,21:31:00+28"\r\n{text}\r\n\r\nOK\r\n'
            if command.startswith("AT+CMGD="):
                self.sim.pop(int(command.removeprefix("AT+CMGD=")), None)
                return "\r\nOK\r\n"
        return "\r\nERROR\r\n"

    def close(self) -> None:
        self._stop = True
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def modem() -> Iterator[FakeModem]:
    fake = FakeModem()
    yield fake
    fake.close()


def _tone_wav(ms: int, hz: float) -> bytes:
    t = np.arange(int(RATE * ms / 1000)) / RATE
    samples = (0.5 * np.sin(2 * math.pi * hz * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def _manifest(clip_sha: str, size: int) -> tuple[bytes, bytes]:
    now = datetime.now(UTC)
    clip = mf.Clip(
        level=4,
        title="Cảnh báo soạn sẵn — Cấp độ 4",
        duration_ms=CLIP_MS,
        audio=mf.AudioSource(url=f"/api/v1/audio/{clip_sha}", sha256=clip_sha, size_bytes=size),
    )
    manifest = mf.build_manifest(
        device_id=DEVICE,
        manifest_version=1,
        generated_at=now,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=47),
        items=[],
        clips=[clip],
    )
    body = manifest.canonical_bytes()
    assert mf.decode_manifest(body).clips == (clip,)  # the hash covers the clips
    return body, mf.sign(body, KEY)


def _measure(path: Path) -> tuple[float, float]:
    """(dominant frequency in Hz, RMS in dBFS) of a WAV file."""
    with wave.open(str(path), "rb") as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        rate = w.getframerate()
    spectrum = np.abs(np.fft.rfft(samples))
    frequency = float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])
    return frequency, 20 * math.log10(float(np.sqrt(np.mean(samples**2))))


def _played(out: Path) -> list[dict[str, object]]:
    log = out / "played.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_sms_trigger_plays_the_cached_clip_and_refuses_forged_and_replayed(
    tmp_path: Path, modem: FakeModem
) -> None:
    data, out = tmp_path / "agent", tmp_path / "out"
    clip = _tone_wav(CLIP_MS, 440.0)
    clip_sha = hashlib.sha256(clip).hexdigest()
    config = AgentConfig(
        server_url="http://127.0.0.1:9",  # nothing listens: the data network is down
        data_dir=data,
        sink="file",
        sink_dir=out,
        modem_device=Path(modem.path),
    )
    identity = Identity(
        device_id=DEVICE,
        secret="s",
        mqtt_host="127.0.0.1",
        mqtt_port=1,
        topic_prefix=TOPICS.prefix,
        manifest_public_key=base64.b64encode(PUBLIC).decode(),
        sms_key=base64.b64encode(DEVICE_KEY).decode(),
    )
    phone = "+84905123456"
    now = int(time.time())
    modem.store(phone, f"LOA 4 {now - 60} AAAAAAAAAA")  # forged, waiting on the SIM since before start
    valid = sms.compose(DEVICE_KEY, DEVICE, 4, now)

    async def until(condition: object, what: str, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise AssertionError(f"waited in vain for {what}")
            await asyncio.sleep(0.05)

    async def scenario() -> Agent:
        agent = Agent(config)
        agent.cache.partial(clip_sha).write_bytes(clip)
        agent.cache.commit(clip_sha)  # pre-positioned: cached earlier, through the manifest
        agent.adopt(identity)
        agent.feed(s.ManifestFetched(*_manifest(clip_sha, len(clip))))
        tasks = [asyncio.create_task(agent._supervised(f)) for f in (agent._clock_loop, agent._modem_loop)]
        try:
            await until(lambda: agent.inbox.refused["sms_forged"] == 1, "the stored forged SMS refused")
            modem.arrive(phone, "LOA 4 " + str(now) + " " + valid.split()[-1][::-1])  # forged live
            await until(lambda: agent.inbox.refused["sms_forged"] == 2, "the live forged SMS refused")
            assert _played(out) == []  # nothing forged ever sounds

            modem.arrive(phone, valid)
            await until(lambda: any(p["audio_sha256"] == clip_sha for p in _played(out)), "the clip played")
            modem.arrive(phone, valid)  # the same SMS again (a replay)
            await until(lambda: agent.inbox.refused["sms_replayed"] == 1, "the replay refused")
            modem.arrive(phone, sms.compose(DEVICE_KEY, DEVICE, sms.STOP, now + 1))
            await until(lambda: agent.core.playing is None and not agent.core.repeats._by_first, "the stop")
            await until(lambda: not modem.sim, "every SMS deleted from the SIM")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await agent.output.close()
            await agent.transfers.aclose()
            agent.journal.close()
        return agent

    agent = asyncio.run(scenario())
    played = [p for p in _played(out) if p["audio_sha256"] == clip_sha]
    assert played and f"sms-{now}" in str(played[0]["item_id"])  # the SMS's command, nothing else
    copies = sorted(out.glob("*.audio"))
    assert copies, "the sink wrote what it played"
    frequency, rms_dbfs = _measure(copies[0])
    assert abs(frequency - 440.0) < 5 and -12 < rms_dbfs < -6  # the clip itself, at its level
    assert agent.status(m.StatusReason.HEARTBEAT).messages_refused == 3  # reported to the server
    assert json.loads((data / "sms.json").read_text())["last_counter"] == now + 1  # kept across restarts
    assert [c for c in modem.commands if c.startswith("AT+CMGD=")] == [f"AT+CMGD={i}" for i in range(1, 6)]


class KeyServer(http.server.ThreadingHTTPServer):
    """The device's server, answering only ``/api/v1/devices/{id}/sms-key`` (after one refusal)."""

    def __init__(self) -> None:
        self.asked = 0
        super().__init__(("127.0.0.1", 0), KeyHandler)


class KeyHandler(http.server.BaseHTTPRequestHandler):
    server: KeyServer

    def do_GET(self) -> None:
        self.server.asked += 1
        if self.path != f"/api/v1/devices/{DEVICE}/sms-key" or self.server.asked == 1:
            self.send_response(503)  # the first time: the server is busy
            self.end_headers()
            return
        body = json.dumps({"sms_key": base64.b64encode(DEVICE_KEY).decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_device_enrolled_before_sms_keys_asks_for_its_key(tmp_path: Path) -> None:
    server = KeyServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    identity = Identity(
        device_id=DEVICE,
        secret="s",
        mqtt_host="127.0.0.1",
        mqtt_port=1,
        topic_prefix=TOPICS.prefix,
        manifest_public_key=base64.b64encode(PUBLIC).decode(),
    )
    (tmp_path / "identity.json").write_text(json.dumps(identity.model_dump()))
    config = AgentConfig(
        server_url=f"http://127.0.0.1:{server.server_address[1]}",
        data_dir=tmp_path,
        sink="null",
        modem_device=Path("/dev/null"),
        reconnect_max_s=0.2,
    )

    async def scenario() -> Agent:
        agent = Agent(config)
        await agent.prepare()
        task = asyncio.create_task(agent._sms_key_loop())
        try:
            deadline = time.monotonic() + 20
            while agent.sms.key is None:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await agent.transfers.aclose()
            agent.journal.close()
        return agent

    try:
        agent = asyncio.run(scenario())
    finally:
        server.shutdown()
        server.server_close()
    assert agent.sms.key == DEVICE_KEY and server.asked == 2  # once refused, then given
    saved = json.loads((tmp_path / "identity.json").read_text())
    assert saved["sms_key"] == base64.b64encode(DEVICE_KEY).decode()  # kept for the next start
