"""A bulletin from above brings its audio inline; it is levelled for broadcast *in the request* that
delivers it, not queued like a person's upload (``loa.speech.uploads`` queues those): an emergency must
be playable the moment it arrives. The same checks apply first (size, a look at the container, the
declared duration), then the same streaming pipeline; identical bytes are levelled once."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from loa.speech import uploads
from loa.speech.models import AudioAsset
from loa.speech.service import JOB_FORMATS, SpeechContext, find_cached, has_formats


def ingest_now(
    session: Session, *, context: SpeechContext, data: bytes, filename: str, title: str
) -> AudioAsset:
    uploads.check_upload(
        data, max_bytes=context.max_upload_bytes, max_duration_s=context.max_upload_duration_s
    )
    cached = find_cached(session, context.store, hashlib.sha256(data).hexdigest())
    if cached is not None and has_formats(session, cached, JOB_FORMATS):
        return cached
    name = uploads.clean_filename(filename)
    stored = context.store.put(data, uploads.original_extension(name))
    rendered = uploads.render_stored_upload(context, source_sha256=stored.sha256, source_name=name)
    return uploads.store_upload_result(
        session,
        context=context,
        rendered=rendered,
        source_sha256=stored.sha256,
        source_name=name,
        title=title,
        created_by_id=None,
    )
