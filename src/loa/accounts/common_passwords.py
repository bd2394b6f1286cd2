"""Is a password one that attackers try first? Django's list of 19,640 common passwords and Loa's
Vietnamese additions (``data/``, licence in ``data/README.md``), read once on first use."""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib import resources

# Digits, punctuation and spaces people add around a common word to pass a length rule.
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@cache
def _common() -> frozenset[str]:
    data = resources.files("loa.accounts") / "data"
    words = set(gzip.decompress((data / "common-passwords.txt.gz").read_bytes()).decode("utf-8").split())
    for line in (data / "common-passwords-vi.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.add(line.strip())
    return frozenset(words)


def is_common(password: str) -> bool:
    """True when the password, case-folded, is listed, also once digits and symbols at either end
    are taken off (``Password1234!`` is ``password``) or with its spaces removed."""
    folded = password.casefold()
    candidates = {folded, _PADDING.sub("", folded), "".join(folded.split())}
    common = _common()
    return any(len(c) >= 4 and c in common for c in candidates)
