"""The receipt journal: proof of play survives power loss and is delivered until acknowledged.

An append-only file of JSON lines, each appended with fsync: ``{"op":"add","r":{…}}`` when an item
ends, ``{"op":"ack","ids":[…]}`` when the server acknowledged. Replaying it gives the pending set.
A torn last line (power cut mid-write) is ignored. When everything is acknowledged the file is
compacted atomically, keeping only the next sequence number.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from loa.agent.storage import atomic_write, fsync_dir
from loa.protocol.messages import Receipt


class ReceiptJournal:
    def __init__(self, path: Path, compact_after: int = 1000) -> None:
        self.path = path
        self._pending: dict[str, Receipt] = {}
        self._next_seq = 0
        self._lines = 0
        self._compact_after = compact_after
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fh = open(path, "ab")  # noqa: SIM115 - kept open for appends
        fsync_dir(path.parent)

    def _load(self) -> None:
        if not self.path.exists():
            return
        for raw in self.path.read_bytes().splitlines():
            try:
                entry = json.loads(raw)
                op = entry["op"]
                if op == "add":
                    receipt = Receipt.model_validate(entry["r"])
                    self._pending[receipt.receipt_id] = receipt
                    self._next_seq = max(self._next_seq, receipt.seq + 1)
                elif op == "ack":
                    for rid in entry["ids"]:
                        self._pending.pop(rid, None)
                elif op == "seq":
                    self._next_seq = max(self._next_seq, int(entry["next"]))
                self._lines += 1
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line: skip it, keep the rest

    def next_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    @property
    def upcoming_seq(self) -> int:
        """The sequence number the next receipt gets (without taking it)."""
        return self._next_seq

    def _append(self, entry: dict[str, object]) -> None:
        self._fh.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._lines += 1

    def add(self, receipt: Receipt) -> None:
        self._append({"op": "add", "r": receipt.model_dump(mode="json")})
        self._pending[receipt.receipt_id] = receipt
        self._next_seq = max(self._next_seq, receipt.seq + 1)

    def ack(self, receipt_ids: list[str]) -> int:
        """Forget acknowledged receipts; an id named twice (a resent batch acknowledged twice) or
        unknown (acknowledged before) is no error."""
        known = [rid for rid in dict.fromkeys(receipt_ids) if rid in self._pending]
        if not known:
            return 0
        self._append({"op": "ack", "ids": known})
        for rid in known:
            del self._pending[rid]
        if not self._pending and self._lines >= self._compact_after:
            self.compact()
        return len(known)

    def compact(self) -> None:
        lines = [json.dumps({"op": "seq", "next": self._next_seq})]
        lines += [
            json.dumps({"op": "add", "r": r.model_dump(mode="json")}, separators=(",", ":"))
            for r in self.pending()
        ]
        self._fh.close()
        atomic_write(self.path, ("\n".join(lines) + "\n").encode())
        self._fh = open(self.path, "ab")  # noqa: SIM115
        self._lines = len(lines)

    def pending(self) -> list[Receipt]:
        return sorted(self._pending.values(), key=lambda r: r.seq)

    def close(self) -> None:
        self._fh.close()
