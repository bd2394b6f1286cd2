"""Photos of bulletins: decoded before they are accepted, stored content-addressed, listed in the feeds."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.content.catalog import Status
from loa.content.images import MAX_PHOTO_BYTES, check_photo
from loa.content.models import Attachment, Bulletin
from loa.content.service import content_changed, get_bulletin
from loa.errors import InvalidInput, NotFound, PayloadTooLarge
from loa.vocab.text import clean_line

MAX_PHOTOS_PER_BULLETIN = 30
TOO_LARGE = f"Ảnh quá lớn (tối đa {MAX_PHOTO_BYTES // (1024 * 1024)} MB). Vui lòng giảm kích thước ảnh."


@dataclass(frozen=True)
class PhotoStore:
    """Files named by their SHA-256 under ``root`` (two-level fan-out); writes are atomic."""

    root: Path

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound("Không tìm thấy ảnh.")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        return sha


def check_size(size_bytes: int) -> None:
    if size_bytes > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(TOO_LARGE, code="photo_too_large")


def add_photo(
    session: Session,
    *,
    principal: Principal,
    store: PhotoStore,
    bulletin_id: int,
    data: bytes,
    filename: str = "",
    caption: str = "",
) -> Attachment:
    check_size(len(data))
    info = check_photo(data)
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    if len(bulletin.attachments) >= MAX_PHOTOS_PER_BULLETIN:
        raise InvalidInput(f"Mỗi bản tin có tối đa {MAX_PHOTOS_PER_BULLETIN} ảnh.")
    sha = store.put(data)
    attachment = Attachment(
        bulletin_id=bulletin.id,
        sha256=sha,
        filename=clean_line(Path(filename).name)[:255],
        content_type=info.content_type,
        size_bytes=len(data),
        width=info.width,
        height=info.height,
        caption=clean_line(caption)[:500],
        position=len(bulletin.attachments),
        uploaded_by_id=principal.user_id,
    )
    session.add(attachment)
    session.flush()
    content_changed(session, principal=principal, bulletin=bulletin, note="Thêm ảnh")
    record(
        session,
        action="bulletin.photo_add",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={"sha256": sha, "size_bytes": len(data)},
    )
    return attachment


def remove_photo(session: Session, *, principal: Principal, bulletin_id: int, attachment_id: int) -> None:
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    attachment = next((a for a in bulletin.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise NotFound("Không tìm thấy ảnh.")
    bulletin.attachments.remove(attachment)
    session.flush()
    content_changed(session, principal=principal, bulletin=bulletin, note="Bỏ ảnh")
    record(
        session,
        action="bulletin.photo_remove",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={"sha256": attachment.sha256},
    )


def photo_is_public(session: Session, sha256: str) -> Attachment | None:
    """A photo of a published, not archived bulletin may be fetched by anyone (the portal)."""
    return session.scalars(
        select(Attachment)
        .join(Bulletin, Bulletin.id == Attachment.bulletin_id)
        .where(
            Attachment.sha256 == sha256,
            Bulletin.published_revision_no.is_not(None),
            Bulletin.status != Status.ARCHIVED,
        )
        .limit(1)
    ).first()


def photo_for(session: Session, sha256: str) -> Attachment | None:
    return session.scalars(select(Attachment).where(Attachment.sha256 == sha256).limit(1)).first()
