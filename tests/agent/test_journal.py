"""The receipt journal survives restarts and torn writes; acknowledged receipts stay gone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from loa.agent.journal import ReceiptJournal
from loa.agent.storage import AudioCache, HashMismatch
from loa.protocol.messages import Outcome, Receipt


def receipt(journal: ReceiptJournal, rid: str) -> Receipt:
    now = datetime.now(UTC)
    return Receipt(
        receipt_id=rid, seq=journal.next_seq(), item_id="tin", audio_sha256="a" * 64,
        started_at=now, ended_at=now, outcome=Outcome.PLAYED,
    )  # fmt: skip


def test_pending_receipts_survive_restart_and_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "receipts.jsonl"
    j = ReceiptJournal(path)
    for rid in ("r1", "r2", "r3"):
        j.add(receipt(j, rid))
    j.ack(["r2"])
    j.close()
    with open(path, "ab") as fh:
        fh.write(b'{"op":"add","r":{"receipt_id":"r4"')  # power cut mid-line
    j2 = ReceiptJournal(path)
    assert [r.receipt_id for r in j2.pending()] == ["r1", "r3"]
    assert j2.next_seq() == 3  # sequence numbers never go back
    j2.ack(["r1", "r3", "unknown"])
    j2.compact()
    j2.close()
    j3 = ReceiptJournal(path)
    assert j3.pending() == [] and j3.next_seq() == 4


def test_cache_exposes_only_verified_files(tmp_path: Path) -> None:
    import hashlib

    cache = AudioCache(tmp_path)
    data = b"audio bytes"
    sha = hashlib.sha256(data).hexdigest()
    cache.partial(sha).write_bytes(data[:4])
    assert not cache.has(sha)
    try:
        cache.commit(sha)
        raise AssertionError("an incomplete file was accepted")
    except HashMismatch:
        pass
    assert not cache.has(sha) and not cache.partial(sha).exists()
    cache.partial(sha).write_bytes(data)
    assert cache.commit(sha).read_bytes() == data and cache.has(sha)
