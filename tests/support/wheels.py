"""Real wheels built in a test (PEP 427: a zip with ``.dist-info/{METADATA,WHEEL,RECORD}``), which
``pip install --no-index`` installs like any other: from a few files, or from Loa's own agent code."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(out_dir: Path, name: str, version: str, files: Mapping[str, bytes | str]) -> Path:
    """A pure-Python wheel of ``files`` (archive path → content)."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = out_dir / f"{dist}-py3-none-any.whl"
    entries: dict[str, bytes] = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    entries[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    entries[f"{dist}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: loa-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{k},{_digest(v)},{len(v)}\n" for k, v in entries.items())
    record += f"{dist}.dist-info/RECORD,,\n"
    entries[f"{dist}.dist-info/RECORD"] = record.encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in entries.items():
            archive.writestr(key, value)
    return path


def loa_agent_files() -> dict[str, bytes | str]:
    """The agent alone as it is shipped: ``loa/__init__.py``, ``loa/errors.py`` (the protocol's error
    tree), ``loa/agent`` and ``loa/protocol``."""
    files: dict[str, bytes | str] = {
        f"loa/{name}": (SRC / "loa" / name).read_bytes() for name in ("__init__.py", "errors.py")
    }
    for package in ("agent", "protocol"):
        for source in sorted((SRC / "loa" / package).rglob("*.py")):
            files[str(source.relative_to(SRC))] = source.read_bytes()
    return files


# A tiny stand-in agent: ``python -m loa.agent`` writes ``healthy`` in its own slot (good) or exits
# with an error before it could (failing), as a release that cannot start would.
GOOD_MAIN = """
import pathlib, sys
slot = pathlib.Path(__file__).resolve().parents[3]
(slot / "healthy").write_text("ok\\n")
print("started", slot.name)
"""
FAILING_MAIN = """
import sys
print("cannot start", file=sys.stderr)
sys.exit(3)
"""


def tiny_agent_files(main: str) -> dict[str, bytes | str]:
    return {"loa/__init__.py": "", "loa/agent/__init__.py": "", "loa/agent/__main__.py": main}
