"""Pre-release only: rebuild migration 0001 from the current models.

Until Loa's first release nothing has applied a migration anywhere that must be preserved, so the
tables are kept as one reviewed initial revision. After the first release, add new revisions with
``loa db revision -m "..."`` instead and never edit an applied one. Later hand-written revisions
(what autogenerate cannot express, such as triggers) are set aside while 0001 is rebuilt.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from loa.db.migrate import MIGRATIONS_DIR, alembic_config
from loa.db.session import make_engine


def main() -> None:
    versions = MIGRATIONS_DIR / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    later = [p for p in sorted(versions.glob("[0-9][0-9][0-9][0-9]_*.py")) if not p.name.startswith("0001_")]
    with tempfile.TemporaryDirectory() as tmp:
        aside = Path(tmp) / "later"
        aside.mkdir()
        for path in later:
            shutil.move(path, aside / path.name)
        try:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.sqlite3'}")
            cfg = alembic_config(engine)
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
        finally:
            for path in later:
                shutil.move(aside / path.name, path)
    created = sorted(versions.glob("0001_*.py"))
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff), "check", "--fix", "--unsafe-fixes", "--quiet", str(created[0])], check=False)
    subprocess.run([str(ruff), "format", "--quiet", str(created[0])], check=True)
    sys.stdout.write(f"wrote {created[0]}\n")


if __name__ == "__main__":
    main()
