"""The agent's launcher: picks the release slot to run, rolls back a release that never became
healthy, and replaces itself with the agent of that slot (``loa-agent-launch``; docs/agent.md).

Layout under the install root (``install_root`` in the agent's configuration)::

    releases/<version>/lib/      the release, installed by ``pip install --no-deps --no-index --target``
    releases/<version>/starts    how many times the launcher started it while it was not healthy
    releases/<version>/healthy   written by that agent after its first accepted manifest and birth
    releases/<version>/failed    written here when it was rolled back
    current -> releases/<version>, previous -> releases/<version>   (symlinks, switched by rename)
    rollback.json                the last rollback ({"from", "to"}), reported in the agent's status

A release that was started ``MAX_UNHEALTHY_STARTS`` times without writing ``healthy`` is abandoned at
the next start: ``current`` goes back to ``previous``. No ``current`` (a fresh install): the agent of
the launcher's own environment runs. Standard library only: it must work when a release is broken.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MAX_UNHEALTHY_STARTS = 3
RELEASES = "releases"
CURRENT = "current"
PREVIOUS = "previous"
HEALTHY = "healthy"
STARTS = "starts"
FAILED = "failed"
ROLLBACK = "rollback.json"
VERSION_ENV = "LOA_AGENT_VERSION"


def slot_dir(root: Path, version: str) -> Path:
    return root / RELEASES / version


def linked(root: Path, name: str) -> Path | None:
    """The slot a symlink (``current``/``previous``) points to, if it exists."""
    link = root / name
    if not link.is_symlink():
        return None
    target = (root / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def point(root: Path, name: str, slot: Path) -> None:
    """Switch the symlink ``name`` to ``slot`` atomically (a new link renamed over the old one)."""
    tmp = root / f".{name}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(slot, root), tmp)
    os.replace(tmp, root / name)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def switch_to(root: Path, slot: Path) -> None:
    """Make ``slot`` current; the slot that was current becomes ``previous`` (for a rollback)."""
    now = linked(root, CURRENT)
    if now is not None and now != slot:
        point(root, PREVIOUS, now)
    point(root, CURRENT, slot)


def _starts(slot: Path) -> int:
    try:
        return int((slot / STARTS).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def choose_slot(root: Path) -> Path | None:
    """The slot to start now (counting the start), rolling back first when the current release
    failed to become healthy ``MAX_UNHEALTHY_STARTS`` times. None: run the launcher's own agent."""
    current = linked(root, CURRENT)
    if current is None:
        return None
    if (current / HEALTHY).exists():
        return current
    starts = _starts(current)
    previous = linked(root, PREVIOUS)
    if starts >= MAX_UNHEALTHY_STARTS and previous is not None and previous != current:
        _write(current / FAILED, f"{starts}\n")
        point(root, CURRENT, previous)
        (root / PREVIOUS).unlink(missing_ok=True)  # never "roll back" onto the failed release
        _write(root / ROLLBACK, json.dumps({"from": current.name, "to": previous.name}))
        return previous
    _write(current / STARTS, f"{starts + 1}\n")
    return current


def mark_healthy(root: Path, version: str) -> bool:
    """Written by the agent of ``version`` once it is healthy; True the first time."""
    slot = slot_dir(root, version)
    if not slot.is_dir() or (slot / HEALTHY).exists():
        return False
    _write(slot / HEALTHY, "ok\n")
    return True


def rolled_back_from(root: Path) -> str | None:
    try:
        raw = json.loads((root / ROLLBACK).read_text())
    except (OSError, ValueError):
        return None
    value = raw.get("from") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def command_for(slot: Path | None, config: Path) -> tuple[list[str], dict[str, str]]:
    """The program (and environment) that runs the agent of ``slot``."""
    env = dict(os.environ)
    if slot is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(slot / "lib"), env.get("PYTHONPATH")) if p)
        env[VERSION_ENV] = slot.name
    return [sys.executable, "-m", "loa.agent", "--config", str(config)], env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loa-agent-launch", description="Khởi động phiên bản tác tử.")
    parser.add_argument("--root", type=Path, required=True, help="thư mục cài đặt các phiên bản")
    parser.add_argument("--config", type=Path, required=True, help="tệp cấu hình TOML")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    program, env = command_for(choose_slot(args.root), args.config)
    os.execve(program[0], program, env)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
