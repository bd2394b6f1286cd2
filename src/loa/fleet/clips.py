"""Pre-positioned clips and the SMS key (issue 15 point 8): what every manifest carries as cache-only
clips (``clips``: read by the schedule's snapshot), and the per-device key of the SMS trigger
(``loa.protocol.sms``), derived from one master key kept beside the manifest signing key.

The master key is 32 random bytes in ``<data_dir>/keys/sms-master.key`` (0600), made on first use. A
device's key is given to it at enrolment; rotating the master key means enrolling every loudspeaker
again (docs/security.md "SMS trigger")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.fleet.models import PrepositionedClip
from loa.protocol import sms
from loa.protocol.manifest import AudioSource, Clip

MASTER_KEY_BYTES = 32


def clips(session: Session) -> tuple[Clip, ...]:
    """Every level's clip as the manifest carries it (by level)."""
    rows = session.scalars(select(PrepositionedClip).order_by(PrepositionedClip.level))
    return tuple(
        Clip(
            level=r.level,
            title=r.title,
            duration_ms=r.duration_ms,
            audio=AudioSource(
                url=f"/api/v1/audio/{r.audio_sha256}", sha256=r.audio_sha256, size_bytes=r.size_bytes
            ),
        )
        for r in rows
    )


def master_key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "sms-master.key"


def load_or_create_master_key(data_dir: Path) -> bytes:
    path = master_key_path(data_dir)
    if path.exists():
        key = path.read_bytes()
        if len(key) != MASTER_KEY_BYTES:
            raise ValueError(f"{path} is not a {MASTER_KEY_BYTES}-byte key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(MASTER_KEY_BYTES))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # atomic and exclusive: two processes racing keep one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return load_or_create_master_key(data_dir)


def device_sms_key(data_dir: Path, device_uid: str) -> bytes:
    return sms.device_key(load_or_create_master_key(data_dir), device_uid)
