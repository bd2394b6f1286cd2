"""Group commands: one signed message on a shared topic instead of one message per device.

A command to many devices is published once on ``{prefix}/g/{commune_code}/cmd`` or
``{prefix}/all/cmd`` (see ``Topics.group_cmd``). Every device of the group may read that topic, so
the message proves where it comes from: its body (the ordinary v1 command plus an optional
``targets`` list of device ids) is signed with the server's Ed25519 key that devices pin at
enrolment. A device verifies the signature, ignores the message unless ``targets`` is absent (every
device of the group) or names it, and then treats the command like one from its own ``cmd`` topic:
it answers on its own ``res`` topic with the command's id.

Wire: ``{"v":1,"type":"group_cmd","body":"<base64 of the command JSON>","sig":"<base64>"}``; the
signature covers ``SIGNING_CONTEXT + body bytes`` so it can never be replayed as a manifest signature.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from loa.protocol import messages as m
from loa.protocol.topics import Channel, valid_device_id

SIGNING_CONTEXT = b"loa-group-cmd/v1\n"
MAX_GROUP_PAYLOAD_BYTES = 60 * 1024  # below Mosquitto's max_packet_size 65536
MAX_TARGETS = 2000  # ~40 KiB of ids; larger selections are split into several messages

DeviceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")]


class GroupEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1
    type: Literal["group_cmd"] = "group_cmd"
    body: Annotated[str, Field(max_length=MAX_GROUP_PAYLOAD_BYTES)]
    sig: Annotated[str, Field(max_length=200)]


class _Targets(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    targets: list[DeviceId] | None = Field(default=None, max_length=MAX_TARGETS)


_ENVELOPE = TypeAdapter(GroupEnvelope)
_TARGETS = TypeAdapter(_Targets)


@dataclass(frozen=True)
class GroupCommand:
    """An opened (signature-checked) group command."""

    command: m.PlayNow | m.Stop | m.SetVolume | m.Sync | m.Reboot | m.Update
    targets: frozenset[str] | None  # None: every device subscribed to the topic

    def addresses(self, device_id: str) -> bool:
        return self.targets is None or device_id in self.targets


def seal(command_json: bytes, targets: list[str] | None, key: Ed25519PrivateKey) -> bytes:
    """The payload to publish: ``command_json`` (a v1 command) with ``targets`` added, signed."""
    body: dict[str, Any] = json.loads(command_json)
    if targets is not None:
        if len(targets) > MAX_TARGETS or not all(valid_device_id(t) for t in targets):
            raise ValueError("invalid target list")
        body["targets"] = targets
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    signature = key.sign(SIGNING_CONTEXT + raw)
    envelope = {
        "v": 1,
        "type": "group_cmd",
        "body": base64.b64encode(raw).decode(),
        "sig": base64.b64encode(signature).decode(),
    }
    payload = json.dumps(envelope, separators=(",", ":")).encode()
    if len(payload) > MAX_GROUP_PAYLOAD_BYTES:
        raise ValueError(f"group command too large ({len(payload)} bytes)")
    return payload


def open_sealed(payload: bytes | bytearray, public_key: Ed25519PublicKey | bytes) -> GroupCommand:
    """Verify and parse a group command, or raise ``ProtocolError`` (``oversized``, ``not_json``,
    ``bad_version``, ``invalid``, ``signature_invalid``)."""
    if len(payload) > MAX_GROUP_PAYLOAD_BYTES:
        raise m.ProtocolError("oversized", f"{len(payload)} > {MAX_GROUP_PAYLOAD_BYTES} bytes")
    try:
        raw = json.loads(bytes(payload))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise m.ProtocolError("not_json", str(err)[:200]) from err
    if not isinstance(raw, dict):
        raise m.ProtocolError("invalid", "not an object")
    if raw.get("v") != m.PROTOCOL_VERSION:
        raise m.ProtocolError("bad_version", repr(raw.get("v"))[:40])
    try:
        envelope = _ENVELOPE.validate_python(raw)
        body = base64.b64decode(envelope.body, validate=True)
        signature = base64.b64decode(envelope.sig, validate=True)
    except (ValidationError, binascii.Error, ValueError) as err:
        raise m.ProtocolError("invalid", "envelope") from err
    key = public_key if isinstance(public_key, Ed25519PublicKey) else _load(public_key)
    try:
        key.verify(signature, SIGNING_CONTEXT + body)
    except InvalidSignature as err:
        raise m.ProtocolError("signature_invalid", "group command") from err
    command = m.parse(Channel.CMD, body, max_bytes=MAX_GROUP_PAYLOAD_BYTES)
    try:
        targets = _TARGETS.validate_json(body).targets
    except ValidationError as err:
        raise m.ProtocolError("invalid", "targets") from err
    return GroupCommand(command=command, targets=frozenset(targets) if targets is not None else None)


def _load(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as err:
        raise m.ProtocolError("signature_invalid", "bad public key") from err
