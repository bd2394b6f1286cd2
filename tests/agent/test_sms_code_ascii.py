"""The SMS trigger's text is matched in ASCII only (docs/security.md "SMS trigger").

Python's ``re`` in Unicode mode lets ``[A-Za-z]`` under IGNORECASE match the Kelvin sign (U+212A, which
lower-cases to ``k``), the long s (U+017F, which upper-cases to ``S``) and the dotless i (U+0131), and
lets ``\\d``/``\\s`` match full-width or Arabic-Indic digits and no-break spaces. A text that is not the
code the server composed was then accepted (``ſ`` for ``S``), or made ``hmac.compare_digest`` raise
``TypeError`` (a Kelvin sign) — out of ``SmsTrigger.received``, which promises never to raise, so the
attempt was neither refused nor counted. Every such text must be refused as ``not_a_trigger``."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest

from loa.agent.smstrigger import SmsTrigger
from loa.protocol import sms
from loa.protocol.device import signals as s

KEY = bytes(range(32))
DEVICE = "dev-sms-ascii"
NOW = 1_796_198_400


def _code_with(letter: str) -> tuple[int, str]:
    """A counter near NOW whose valid level-4 text has ``letter`` in its code."""
    for counter in range(NOW, NOW + 5000):
        text = sms.compose(KEY, DEVICE, 4, counter)
        if letter in text.split()[-1]:
            return counter, text
    raise AssertionError(f"no code with {letter}")


def _verify(text: str, counter: int) -> sms.Trigger:
    return sms.verify(text, key=KEY, device_id=DEVICE, last_counter=0, now_s=counter)


def _lookalikes() -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for ascii_letter, other in (("S", "\u017f"), ("I", "\u0131"), ("K", "\u212a")):
        counter, text = _code_with(ascii_letter)
        code = text.split()[-1]
        out.append((text.replace(code, code.replace(ascii_letter, other)), counter))
    counter, text = _code_with("A")
    digits = str(counter)
    out.append((text.replace(digits, "".join(chr(0xFF10 + int(d)) for d in digits)), counter))  # full-width
    out.append((text.replace(digits, "".join(chr(0x0660 + int(d)) for d in digits)), counter))  # Arabic-Indic
    out.append((text.replace(" ", "\u00a0"), counter))  # no-break spaces
    out.append((text.replace(" ", "\u3000"), counter))  # ideographic spaces
    out.append(("\u2028" + text, counter))  # a Unicode line separator first
    return out


def test_the_exact_code_is_accepted_in_either_ascii_case() -> None:
    counter, text = _code_with("A")
    assert _verify(text, counter) == sms.Trigger(4, counter)
    assert _verify(text.lower(), counter) == sms.Trigger(4, counter)  # typed on a phone in lower case
    assert _verify(f"  {text}\r\n", counter) == sms.Trigger(4, counter)  # ASCII blanks around


@pytest.mark.parametrize(("text", "counter"), _lookalikes())
def test_non_ascii_lookalikes_of_a_valid_code_are_not_a_trigger(text: str, counter: int) -> None:
    with pytest.raises(sms.SmsRefused) as refused:
        _verify(text, counter)
    assert refused.value.code == "not_a_trigger"


def test_a_kelvin_sign_is_refused_and_counted_by_the_agent(tmp_path: Path) -> None:
    counter, text = _code_with("K")
    forged = text.replace("K", "\u212a")
    fed: list[s.Event] = []
    refused: Counter[str] = Counter()
    trigger = SmsTrigger(
        tmp_path / "sms.json",
        feed=fed.append,
        refuse=lambda code: refused.update([code]),
        manifest=lambda: None,
        has_audio=lambda sha: False,
        clock_s=lambda: float(counter),
    )
    trigger.adopt(DEVICE, base64.b64encode(KEY).decode())
    assert trigger.received("+84905123456", forged) is False  # returned, did not raise
    assert refused == Counter({"sms_not_a_trigger": 1}) and fed == []
    assert not (tmp_path / "sms.json").exists()  # no counter was taken from it


def test_a_text_longer_than_one_sms_is_not_a_trigger() -> None:
    counter, text = _code_with("A")
    padded = text + " " * (sms.MAX_TEXT_CHARS - len(text))
    assert _verify(padded, counter) == sms.Trigger(4, counter)  # one SMS worth: still read
    with pytest.raises(sms.SmsRefused, match="not_a_trigger"):
        _verify(padded + " ", counter)
    with pytest.raises(sms.SmsRefused, match="not_a_trigger"):
        _verify(" " * 1_000_000 + text, counter)  # refused before the pattern runs over it
