"""The ``update`` command carried out (docs/agent.md, "Restart and update on command"):

1. the signature is checked first — Ed25519 by the pinned *release* key (not the manifest key) over
   ``messages.release_signed_bytes(version, sha256)`` — so nothing is downloaded for a forged command;
2. the wheel is downloaded from the device's own server (resumable, within the daily budget) into
   ``install_root/downloads/`` and its SHA-256 checked;
3. it is installed into a new slot ``releases/<version>/lib`` (``pip install --no-deps --no-index
   --target``, into a temporary directory renamed when complete), ``current`` is switched to it and
   the old one kept as ``previous`` (``loa.agent.launch``); the agent answers ``done`` and restarts.

Errors carry a stable ``code`` that becomes the command's answer detail: ``signature_invalid``,
``no_release_key``, ``not_supported`` (no install root), ``budget``, ``network``, ``http_<status>``,
``hash_mismatch``, ``too_large`` (the download went past ``MAX_RELEASE_BYTES``, or past the command's
``size_bytes``), ``install_failed`` (pip failed, or ran longer than ``PIP_TIMEOUT_S``),
``install_root_unusable`` (the install root, or a directory in it, cannot be created or written: a file
in its place, a read-only or full disk), ``same_version``. Any of them ends the update (``failed`` or
``rejected``), so the next ``update`` command is carried out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from loa.agent import launch
from loa.agent.fetch import DataBudget, FetchError, ServerClient
from loa.protocol import messages as m

log = logging.getLogger(__name__)

WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,120}\.whl$")
DOWNLOADS = "downloads"
PIP_TIMEOUT_S = 600
MAX_RELEASE_BYTES = 64 * 1024 * 1024  # the agent's wheel is well under 1 MiB


class UpdateError(Exception):
    def __init__(self, code: str, detail: str = "", *, rejected: bool = False) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.rejected = rejected  # refused before any work (``rejected``), else ``failed``


def _unusable(err: OSError) -> UpdateError:
    return UpdateError("install_root_unusable", f"{err.strerror or err}: {err.filename}")


def verify_signature(args: m.UpdateArgs, public_key_b64: str | None) -> None:
    if not public_key_b64:
        raise UpdateError("no_release_key", rejected=True)
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        signature = base64.b64decode(args.signature, validate=True)
        key.verify(signature, m.release_signed_bytes(args.version, args.sha256))
    except (InvalidSignature, ValueError, binascii.Error) as err:
        raise UpdateError("release_signature_invalid", rejected=True) from err


def wheel_filename(args: m.UpdateArgs) -> str:
    """The wheel's file name (pip checks it against the wheel's metadata): the last part of the URL."""
    name = args.url.rsplit("/", 1)[-1].split("?", 1)[0]
    if not WHEEL_NAME.match(name):
        raise UpdateError("bad_filename", rejected=True)
    return name


def release_limit(args: m.UpdateArgs) -> int:
    """The most a release download may bring: ``MAX_RELEASE_BYTES``, or the command's size if smaller
    (not signed, so only ever a tighter limit: a wrong size fails the SHA-256 check anyway)."""
    if args.size_bytes is not None:
        return min(MAX_RELEASE_BYTES, args.size_bytes)
    return MAX_RELEASE_BYTES


def install(root: Path, version: str, wheel: Path) -> Path:
    """Install ``wheel`` into the slot of ``version`` (replacing an unfinished one); returns the slot."""
    slot = launch.slot_dir(root, version)
    if (slot / launch.HEALTHY).exists() and launch.linked(root, launch.CURRENT) == slot.resolve():
        raise UpdateError("same_version", rejected=True)
    staging = slot.with_name(f".{version}.installing")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
    except OSError as err:
        raise _unusable(err) from err
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--target",
        str(staging / "lib"),
        str(wheel),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise UpdateError("install_failed", f"pip ran longer than {PIP_TIMEOUT_S} s") from err
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise UpdateError("install_failed", done.stderr.strip().splitlines()[-1][:150] if done.stderr else "")
    try:
        shutil.rmtree(slot, ignore_errors=True)  # a slot left by an earlier, failed attempt
        staging.rename(slot)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise _unusable(err) from err
    return slot


def prune(root: Path) -> None:
    """Keep the current and previous slots only (and none half-installed)."""
    keep = {p for p in (launch.linked(root, launch.CURRENT), launch.linked(root, launch.PREVIOUS)) if p}
    releases = root / launch.RELEASES
    if not releases.is_dir():
        return
    for slot in releases.iterdir():
        if slot.is_dir() and slot.resolve() not in keep and not slot.name.startswith("."):
            shutil.rmtree(slot, ignore_errors=True)


async def apply(
    args: m.UpdateArgs,
    *,
    root: Path | None,
    release_key_b64: str | None,
    server: ServerClient | None,
    budget: DataBudget,
) -> Path:
    """Verify, download, install and switch to the release; returns its slot. Raises ``UpdateError``."""
    verify_signature(args, release_key_b64)  # a forged command is reported as such, first
    if root is None or server is None:
        raise UpdateError("not_supported", rejected=True)
    filename = wheel_filename(args)
    downloads = root / DOWNLOADS
    try:
        downloads.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unusable(err) from err
    try:
        wheel = await server.download_release(
            args.sha256, filename, downloads / filename, budget, max_bytes=release_limit(args)
        )
    except FetchError as err:
        raise UpdateError(err.code) from err
    except OSError as err:  # the download could not be written
        raise _unusable(err) from err
    try:
        slot = await asyncio.to_thread(install, root, args.version, wheel)
        launch.switch_to(root, slot)
        await asyncio.to_thread(prune, root)
    except OSError as err:
        raise _unusable(err) from err
    finally:
        with contextlib.suppress(OSError):
            wheel.unlink(missing_ok=True)
    log.info("agent release %s installed; restarting into it", args.version)
    return slot
