"""Receipts the device holds until the server acknowledges them: numbered, sent on every connect and
again every ``resend_after_ms`` while unacknowledged, forgotten once acknowledged (each id once,
however many times an acknowledgement names it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from loa.protocol import messages as m
from loa.protocol.device.items import Finished, at_ms
from loa.protocol.device.signals import Effect, ForgetReceipts, RecordReceipt, SendReceipts


class ReceiptOutbox:
    def __init__(
        self,
        *,
        resend_after_ms: int,
        new_id: Callable[[], str],
        pending: Iterable[m.Receipt] = (),
        next_seq: int = 0,
    ) -> None:
        self.resend_after_ms = resend_after_ms
        self._new_id = new_id
        # receipt id → (receipt, when last sent; None: not since the last connect)
        self._pending: dict[str, tuple[m.Receipt, int | None]] = {r.receipt_id: (r, None) for r in pending}
        self.next_seq = max([next_seq, *(r.seq + 1 for r, _ in self._pending.values())])
        self.online = False

    def __len__(self) -> int:
        return len(self._pending)

    def pending(self) -> list[m.Receipt]:
        return sorted((r for r, _ in self._pending.values()), key=lambda r: r.seq)

    def add(self, done: Finished, manifest_version: int | None, out: list[Effect]) -> m.Receipt:
        stream = done.item.stream_url is not None
        receipt = m.Receipt(
            receipt_id=self._new_id(),
            seq=self.next_seq,
            item_id=done.item.id,
            audio_sha256=None if stream else done.item.audio_sha256,
            kind=m.ReceiptKind.STREAM if stream else m.ReceiptKind.FILE,
            heard_ms=done.heard_ms,
            interruptions=done.interruptions,
            priority=done.item.priority if stream else None,
            started_at=at_ms(done.started_ms),
            ended_at=at_ms(done.ended_ms),
            outcome=done.outcome,
            manifest_version=manifest_version,
            detail=done.detail,
        )
        self.next_seq += 1
        self._pending[receipt.receipt_id] = (receipt, None)
        out.append(RecordReceipt(receipt))
        return receipt

    def acknowledged(self, receipt_ids: Iterable[str], out: list[Effect]) -> bool:
        known = tuple(rid for rid in dict.fromkeys(receipt_ids) if rid in self._pending)
        for rid in known:
            del self._pending[rid]
        if known:
            out.append(ForgetReceipts(known))
        return bool(known)

    def connected(self) -> None:
        self.online = True
        self._pending = {rid: (r, None) for rid, (r, _) in self._pending.items()}

    def disconnected(self) -> None:
        self.online = False

    def flush(self, now: int, out: list[Effect]) -> None:
        """Send what was never sent since the last connect, and what waited ``resend_after_ms``."""
        if not self.online or not self._pending:
            return
        due = [r for r, sent in self._pending.values() if sent is None or now - sent >= self.resend_after_ms]
        if not due:
            return
        due.sort(key=lambda r: r.seq)
        for start in range(0, len(due), m.MAX_RECEIPTS_PER_BATCH):
            batch = due[start : start + m.MAX_RECEIPTS_PER_BATCH]
            for r in batch:
                self._pending[r.receipt_id] = (r, now)
            out.append(SendReceipts(m.ReceiptBatch(sent_at=at_ms(now), receipts=batch)))

    def next_wake_ms(self) -> int | None:
        if not self.online or not self._pending:
            return None
        sent = [t for _, t in self._pending.values() if t is not None]
        if len(sent) < len(self._pending):
            return None  # flushed at the next advance anyway
        return min(sent) + self.resend_after_ms
