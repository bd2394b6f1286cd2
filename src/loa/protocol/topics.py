"""MQTT topic names of protocol v1: ``{prefix}/d/{device_id}/{channel}``.

A device publishes only under its own id (the MQTT username *is* the device id, so a pattern ACL
``{prefix}/d/%u/...`` enforces it on Mosquitto, and ``loa.fleet.broker`` enforces the same rule on the
embedded broker). The channel table below is the single source for who may publish and subscribe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

DEVICE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
GROUP_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
FLEET_GROUP = ""  # the fleet-wide group: ``{prefix}/all/cmd``
SHARE_GROUP = "ingest"


class Channel(StrEnum):
    """One topic per device and channel. Direction and QoS are data, see ``CHANNELS``."""

    STATE = "state"  # server → device, retained reference to the current manifest
    CMD = "cmd"  # server → device, commands with an expiry
    ACK = "ack"  # server → device, receipt acknowledgements
    STATUS = "status"  # device → server, QoS 0 heartbeat and changes
    RECEIPTS = "receipts"  # device → server, QoS 1 batches of play receipts
    RESULT = "res"  # device → server, QoS 1 command results
    BIRTH = "birth"  # device → server, QoS 1 on every (re)connect
    LWT = "lwt"  # device → server, the last will ("offline"), published by the broker


@dataclass(frozen=True)
class ChannelInfo:
    from_device: bool
    qos: int
    retained: bool


CHANNELS: dict[Channel, ChannelInfo] = {
    Channel.STATE: ChannelInfo(from_device=False, qos=1, retained=True),
    Channel.CMD: ChannelInfo(from_device=False, qos=1, retained=False),
    Channel.ACK: ChannelInfo(from_device=False, qos=1, retained=False),
    Channel.STATUS: ChannelInfo(from_device=True, qos=0, retained=False),
    Channel.RECEIPTS: ChannelInfo(from_device=True, qos=1, retained=False),
    Channel.RESULT: ChannelInfo(from_device=True, qos=1, retained=False),
    Channel.BIRTH: ChannelInfo(from_device=True, qos=1, retained=False),
    Channel.LWT: ChannelInfo(from_device=True, qos=1, retained=False),
}

DEVICE_PUBLISHES: tuple[Channel, ...] = tuple(c for c, i in CHANNELS.items() if i.from_device)
DEVICE_SUBSCRIBES: tuple[Channel, ...] = tuple(c for c, i in CHANNELS.items() if not i.from_device)


def valid_group_code(code: str) -> bool:
    return bool(GROUP_CODE_PATTERN.match(code))


def valid_device_id(device_id: str) -> bool:
    return bool(DEVICE_ID_PATTERN.match(device_id))


@dataclass(frozen=True)
class Topics:
    """Topic names under one prefix (``loa`` in production; tests use unique prefixes)."""

    prefix: str = "loa"

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ValueError(f"invalid topic prefix {self.prefix!r}")

    def device(self, device_id: str, channel: Channel) -> str:
        if not valid_device_id(device_id):
            raise ValueError(f"invalid device id {device_id!r}")
        return f"{self.prefix}/d/{device_id}/{channel.value}"

    def device_root(self, device_id: str) -> str:
        return f"{self.prefix}/d/{device_id}/"

    def all_devices(self, channel: Channel) -> str:
        """Filter matching one channel of every device (what the server subscribes to)."""
        return f"{self.prefix}/d/+/{channel.value}"

    def shared(self, channel: Channel, group: str = SHARE_GROUP) -> str:
        """Shared subscription (MQTT 5, and Mosquitto for 3.1.1 clients): spreads ingest over workers."""
        return f"$share/{group}/{self.all_devices(channel)}"

    def group_cmd(self, code: str = FLEET_GROUP) -> str:
        """Group command topic (server → many devices, read-only for devices): ``{prefix}/g/{code}/cmd``
        for one commune (its code), ``{prefix}/all/cmd`` for the whole fleet (``code`` empty)."""
        if code == FLEET_GROUP:
            return f"{self.prefix}/all/cmd"
        if not valid_group_code(code):
            raise ValueError(f"invalid group code {code!r}")
        return f"{self.prefix}/g/{code}/cmd"

    def any_group_cmd(self) -> str:
        """Filter matching every commune group topic (what the device ACL lets a device read)."""
        return f"{self.prefix}/g/+/cmd"

    def is_group_cmd(self, topic: str) -> bool:
        if topic == self.group_cmd():
            return True
        head, tail = f"{self.prefix}/g/", "/cmd"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return False
        return valid_group_code(topic[len(head) : -len(tail)])

    def parse(self, topic: str) -> tuple[str, Channel] | None:
        """``(device_id, channel)`` of a device topic under this prefix, or None for anything else."""
        head = f"{self.prefix}/d/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :].split("/")
        if len(rest) != 2 or not valid_device_id(rest[0]):
            return None
        try:
            return rest[0], Channel(rest[1])
        except ValueError:
            return None
