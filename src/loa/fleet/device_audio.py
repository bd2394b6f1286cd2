"""Which audio a loudspeaker may download: only what it was told to play (issue 20, point 8).

A device's credentials open the audio route for the files its own recent manifests name and those of
the "play now" commands (emergency alerts included) addressed to it, alone or as part of a group. Any
other hash — another commune's audio, a draft's — is answered like a file that does not exist, so a
stolen loudspeaker box cannot be used to read the server's audio by SHA-256.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch, DeviceManifest
from loa.units.models import AdminUnit

# The current manifest and the two before it: a device switching manifests may still fetch for those.
MANIFESTS_CHECKED = 3


def _manifest_audio(body: bytes) -> set[str]:
    """The files a manifest names: its items' and its pre-positioned clips' (``clips``)."""
    try:
        raw = json.loads(body)
        entries = [*(raw.get("items") or []), *(raw.get("clips") or [])]
    except (ValueError, AttributeError, TypeError):
        return set()
    found: set[str] = set()
    for item in entries:
        audio = item.get("audio") if isinstance(item, dict) else None
        if not isinstance(audio, dict):
            continue
        for source in (audio, audio.get("smaller")):  # the smaller rendition is named (and signed) too
            if isinstance(source, dict) and source.get("sha256"):
                found.add(str(source["sha256"]))
    return found


def _command_audio(payloads: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for payload in payloads:
        try:
            args: Any = json.loads(payload).get("args") or {}
        except (ValueError, AttributeError):
            continue
        if isinstance(args, dict) and args.get("audio_sha256"):
            found.add(str(args["audio_sha256"]))
    return found


def named_for_device(session: Session, device: Device, sha256: str) -> bool:
    """Whether ``device``'s recent manifests or its commands name the audio ``sha256``."""
    bodies = session.scalars(
        select(DeviceManifest.body)
        .where(DeviceManifest.device_id == device.id)
        .order_by(DeviceManifest.version.desc())
        .limit(MANIFESTS_CHECKED)
    )
    if any(sha256 in _manifest_audio(body) for body in bodies if sha256.encode() in body):
        return True
    own = session.scalars(
        select(DeviceCommand.payload).where(
            DeviceCommand.device_id == device.id, DeviceCommand.payload.contains(sha256, autoescape=True)
        )
    )
    if sha256 in _command_audio(own):
        return True
    commune = session.scalar(select(AdminUnit.code).where(AdminUnit.id == device.commune_id)) or ""
    group = session.scalars(
        select(DeviceCommandBatch.payload).where(
            DeviceCommandBatch.payload.contains(sha256, autoescape=True),
            DeviceCommandBatch.group_code.in_(["", commune]),
            or_(
                DeviceCommandBatch.targets.is_(None),
                DeviceCommandBatch.targets.contains(json.dumps(device.uid), autoescape=True),
            ),
        )
    )
    return sha256 in _command_audio(group)
