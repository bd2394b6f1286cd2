"""The send form of the alerts page, read from a posted form (or a query string for the live counts):
what the warning says, how it is classified, where it goes. ``content`` is what the sender confirms
(the confirmation token is bound to it, ``loa.alerts.confirm``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.datastructures import FormData, ImmutableMultiDict

from loa.alerts import levels
from loa.alerts.compose import TEMPLATES
from loa.alerts.targeting import MODES, TargetChoice, parse_polygon
from loa.errors import InvalidInput
from loa.fleet import commands

EXPIRY_MAX_H = 7 * 24


@dataclass
class AlertForm:
    template: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    text: str = ""
    audio_sha256: str = ""
    hazard: str = ""
    risk_level: str = ""
    repeat_gap_s: str = str(commands.DEFAULT_REPEAT_GAP_S)
    expires_h: str = ""
    mode: str = "communes"
    communes: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    polygon: str = ""

    @classmethod
    def read(cls, data: FormData | ImmutableMultiDict[str, str] | Mapping[str, str]) -> AlertForm:
        def one(name: str, default: str = "") -> str:
            value = data.get(name)
            return value if isinstance(value, str) else default

        def many(name: str) -> list[str]:
            if isinstance(data, FormData | ImmutableMultiDict):
                return [v for v in data.getlist(name) if isinstance(v, str) and v.strip()]
            value = data.get(name)
            return [value] if isinstance(value, str) and value.strip() else []

        template = one("template")
        known = TEMPLATES.get(template)
        return cls(
            template=template if known else "",
            fields={f.name: one(f"f_{f.name}") for f in known.fields} if known else {},
            text=one("text"),
            audio_sha256=one("audio_sha256").strip(),
            hazard=one("hazard"),
            risk_level=one("risk_level"),
            repeat_gap_s=one("repeat_gap_s", str(commands.DEFAULT_REPEAT_GAP_S)),
            expires_h=one("expires_h").strip(),
            mode=one("mode", "communes") or "communes",
            communes=many("communes"),
            villages=many("villages"),
            groups=many("groups"),
            polygon=one("polygon"),
        )

    def choice(self) -> TargetChoice:
        if self.mode not in MODES:
            raise InvalidInput("Cách chọn nơi nhận cảnh báo không hợp lệ.", code="target_mode_invalid")
        try:
            groups = tuple(int(g) for g in self.groups)
        except ValueError:
            raise InvalidInput("Không tìm thấy nhóm cụm loa đã chọn.", code="group_not_found") from None
        return TargetChoice(
            mode=self.mode,
            communes=tuple(self.communes) if self.mode == "communes" else (),
            villages=tuple(self.villages) if self.mode == "villages" else (),
            groups=groups if self.mode == "groups" else (),
            polygon=parse_polygon(self.polygon) if self.mode == "polygon" else (),
        )

    def classification(self) -> tuple[str, int]:
        if not self.hazard:
            raise InvalidInput("Chưa chọn loại thiên tai.", code="hazard_missing")
        if not self.risk_level:
            raise InvalidInput("Chưa chọn cấp độ rủi ro.", code="risk_level_missing")
        try:
            level = int(self.risk_level)
        except ValueError:
            raise InvalidInput("Cấp độ rủi ro phải từ 1 đến 5.", code="risk_level_invalid") from None
        hazard, checked = levels.check(self.hazard, level)
        assert hazard is not None and checked is not None
        return hazard, checked

    def gap_s(self) -> int:
        return commands.parse_repeat_gap(self.repeat_gap_s)

    def expires_at(self, now: datetime) -> datetime | None:
        if not self.expires_h:
            return None
        try:
            hours = float(self.expires_h.replace(",", "."))
        except ValueError:
            hours = -1
        if not 0 < hours <= EXPIRY_MAX_H:
            raise InvalidInput(
                f"Thời gian hiệu lực phải từ 1 đến {EXPIRY_MAX_H} giờ (để trống: đến khi dừng).",
                code="alert_expiry_invalid",
            )
        return now + timedelta(hours=hours)

    def content(self) -> dict[str, object]:
        """What the sender sees on the confirmation step and confirms (only the chosen mode's places)."""
        choice = self.choice()
        return {
            "text": self.text.strip(),
            "audio_sha256": "" if self.text.strip() else self.audio_sha256,
            "hazard": self.hazard,
            "risk_level": self.risk_level,
            "repeat_gap_s": self.repeat_gap_s.strip(),
            "expires_h": self.expires_h,
            "mode": choice.mode,
            "communes": sorted(choice.communes),
            "villages": sorted(choice.villages),
            "groups": sorted(choice.groups),
            "polygon": [list(p) for p in choice.polygon],
        }

    def hidden(self) -> list[tuple[str, str]]:
        """The form again as hidden fields (the confirmation step posts exactly what it showed)."""
        pairs = [
            ("template", self.template),
            ("text", self.text),
            ("audio_sha256", self.audio_sha256),
            ("hazard", self.hazard),
            ("risk_level", self.risk_level),
            ("repeat_gap_s", self.repeat_gap_s),
            ("expires_h", self.expires_h),
            ("mode", self.mode),
            ("polygon", self.polygon),
        ]
        pairs += [(f"f_{k}", v) for k, v in self.fields.items()]
        pairs += [("communes", c) for c in self.communes]
        pairs += [("villages", v) for v in self.villages]
        pairs += [("groups", g) for g in self.groups]
        return pairs
