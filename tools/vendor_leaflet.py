"""Vendor Leaflet into Loa's static files from its npm package, reproducibly (``make vendor-leaflet``).

Loa serves Leaflet itself (no CDN, works offline). The built files are checked in under
``src/loa/web/static/vendor/leaflet/`` so that ``make run`` needs neither npm nor the network; this
script is how they got there and how to update them:

1. ``npm pack leaflet@<VERSION>`` downloads the published tarball (npm's own cache and registry
   settings apply);
2. its SHA-512 must equal ``INTEGRITY`` — the ``dist.integrity`` the npm registry publishes for that
   version (``npm view leaflet@<VERSION> dist.integrity``) — else nothing is written;
3. ``dist/leaflet.js``, ``dist/leaflet.css``, ``dist/images/*`` and ``LICENSE`` are extracted, and
   ``VERSION`` records the version and the integrity.

To update: change ``VERSION`` and ``INTEGRITY`` together, run ``make vendor-leaflet``, commit the result.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "1.9.4"
INTEGRITY = "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
TARGET = Path(__file__).resolve().parent.parent / "src" / "loa" / "web" / "static" / "vendor" / "leaflet"
WANTED = ("package/dist/leaflet.js", "package/dist/leaflet.css", "package/LICENSE")
IMAGES = "package/dist/images/"


def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"leaflet@{VERSION}", "--silent", "--pack-destination", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tarball = Path(tmp) / f"leaflet-{VERSION}.tgz"
        found = integrity_of(tarball)
        if found != INTEGRITY:
            sys.stderr.write(f"leaflet-{VERSION}.tgz: integrity {found} is not the pinned {INTEGRITY}\n")
            return 1
        if TARGET.exists():
            shutil.rmtree(TARGET)
        (TARGET / "images").mkdir(parents=True)
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                if not member.isfile():
                    continue
                if member.name in WANTED:
                    out = TARGET / Path(member.name).name
                elif member.name.startswith(IMAGES) and "/" not in member.name[len(IMAGES) :]:
                    out = TARGET / "images" / Path(member.name).name
                else:
                    continue
                source = archive.extractfile(member)
                assert source is not None
                out.write_bytes(source.read())
        (TARGET / "VERSION").write_text(
            f"leaflet {VERSION}\nnpm integrity {INTEGRITY}\n"
            "vendored by tools/vendor_leaflet.py (make vendor-leaflet)\n",
            encoding="utf-8",
        )
    sys.stdout.write(f"Leaflet {VERSION} vendored into {TARGET}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
