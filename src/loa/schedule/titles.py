"""What people call the things a loudspeaker plays: the title behind a manifest or play item id, for pages
that hold only the id (a receipt, a device's "now playing" when its status carried no title).

An item id (``loa.protocol.itemids``) names a running-order line of a programme airing, an announcement,
or a "play now" command; the title comes from the record it names: the bulletin and the programme, the
announcement, the title the command carried. A person never reads the id itself: an id naming nothing
known gets no title here, and the page says what kind of content it was (``loa.fleet.present``).
One query per kind of record, whatever the number of ids.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from loa.content.models import Bulletin
from loa.fleet.commands import payload_title
from loa.fleet.models import DeviceCommand, DeviceCommandBatch
from loa.protocol.itemids import ItemRef, parse
from loa.schedule import models as m

_PREFIXES_PER_QUERY = 100


def item_titles(session: Session, item_ids: Iterable[str]) -> dict[str, str]:
    """Vietnamese titles of the items named by ``item_ids`` (those naming nothing known are left out):
    "Tin tiêm chủng — Bản tin sáng", "Cảnh báo lũ (lần 3)"."""
    refs = {item_id: parse(item_id) for item_id in set(item_ids) if item_id}
    programmes = _names(session, m.Programme.id, m.Programme.name, {r.programme_id for r in refs.values()})
    bulletins = _names(session, Bulletin.id, Bulletin.title, {r.bulletin_id for r in refs.values()})
    announcements = _names(
        session, m.Announcement.id, m.Announcement.title, {r.announcement_id for r in refs.values()}
    )
    commands = _command_titles(session, {r.command for r in refs.values() if r.command})
    out: dict[str, str] = {}
    for item_id, ref in refs.items():
        title = _title(ref, programmes, bulletins, announcements, commands)
        if title:
            out[item_id] = title if ref.round == 1 else f"{title} (lần {ref.round})"
    return out


def _title(
    ref: ItemRef,
    programmes: dict[int, str],
    bulletins: dict[int, str],
    announcements: dict[int, str],
    commands: dict[str, str],
) -> str | None:
    if ref.programme_id is not None:
        programme = programmes.get(ref.programme_id)
        bulletin = bulletins.get(ref.bulletin_id) if ref.bulletin_id is not None else None
        if bulletin and programme:
            return f"{bulletin} — {programme}"
        return bulletin or programme
    if ref.announcement_id is not None:
        return announcements.get(ref.announcement_id)
    if ref.command:
        return commands.get(ref.command)
    return None


def _names(
    session: Session, key: InstrumentedAttribute[int], name: InstrumentedAttribute[str], ids: set[int | None]
) -> dict[int, str]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return {int(i): str(n) for i, n in session.execute(select(key, name).where(key.in_(wanted)))}


def _command_titles(session: Session, prefixes: set[str]) -> dict[str, str]:
    """The title each "play now" carried; a device names the command by the first characters of its id
    (``itemids.command_item``), and the command was sent to one device or to a group (batch)."""
    out: dict[str, str] = {}
    ordered = sorted(prefixes)
    for start in range(0, len(ordered), _PREFIXES_PER_QUERY):
        chunk = ordered[start : start + _PREFIXES_PER_QUERY]
        for table in (DeviceCommand, DeviceCommandBatch):
            rows = session.execute(
                select(table.id, table.payload).where(or_(*(table.id.startswith(p) for p in chunk)))
            )
            for command_id, payload in rows:
                title = payload_title(payload)
                prefix = next((p for p in chunk if command_id.startswith(p)), None)
                if title and prefix is not None:
                    out.setdefault(prefix, title)
    return out
