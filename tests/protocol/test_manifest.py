"""The manifest wire format: canonical bytes, content hash, Ed25519 signature, decoding, diff."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loa.protocol.manifest import (
    AudioKind,
    AudioSource,
    ManifestError,
    ManifestItem,
    build_manifest,
    canonical_json,
    decode_manifest,
    diff_manifests,
    generate_private_key,
    key_id,
    open_signed,
    public_key_bytes,
    sign,
    splice_canonical,
    verify,
)
from loa.protocol.priority import PreemptRule

T0 = datetime(2023, 1, 16, 0, 0, tzinfo=UTC)
SHA = "ab" * 32


def make_item(ident: str, minutes: int = 0, **changes: object) -> ManifestItem:
    start = T0 + timedelta(minutes=minutes)
    fields: dict[str, object] = {
        "id": ident,
        "title": f"Tin «{ident}» — Cải cách hành chính",
        "source_id": "cchc",
        "bulletin_id": f"b-{ident}",
        "start_at": start,
        "start_local": start.astimezone(UTC).isoformat(),
        "duration_ms": 120_000,
        "not_after_at": T0 + timedelta(minutes=30),
        "priority": 300,
        "preempt_rule": PreemptRule.RESUME,
        "audio": AudioSource(url=f"https://loa.example.vn/a/{ident}.mp3", sha256=SHA, size_bytes=960_000),
    }
    fields.update(changes)
    return ManifestItem.model_validate(fields)


def manifest(*items: ManifestItem, version: int = 1):  # type: ignore[no-untyped-def]
    return build_manifest(
        device_id="loa-001",
        manifest_version=version,
        generated_at=T0 - timedelta(hours=1),
        valid_from=T0 - timedelta(hours=1),
        valid_until=T0 + timedelta(hours=47),
        items=items,
    )


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    m = manifest(make_item("a"), make_item("b", 2))
    body = m.canonical_bytes()
    assert body == canonical_json(json.loads(body))
    assert b" " not in body.replace("Tin «a» — Cải cách hành chính".encode(), b"").replace(
        "Tin «b» — Cải cách hành chính".encode(), b""
    )
    assert "Cải cách hành chính".encode() in body  # UTF-8, not \\u escapes
    assert body.startswith(b'{"content_hash":"') and b'"schema":1' in body
    assert b'"start_at":"2023-01-16T00:00:00.000Z"' in body
    assert decode_manifest(body) == m


def test_item_order_and_content_hash_do_not_depend_on_input_order() -> None:
    a, b, c = make_item("a", 5), make_item("b", 0), make_item("c", 0, priority=900)
    one, two = manifest(a, b, c), manifest(c, a, b)
    assert one.canonical_bytes() == two.canonical_bytes()
    assert [i.id for i in one.items] == ["c", "b", "a"]  # by start, higher priority first
    assert manifest(a, b, version=7).content_hash == manifest(b, a).content_hash  # content, not envelope
    assert manifest(a).content_hash != manifest(make_item("a", 5, volume_percent=50)).content_hash


def test_signature_verifies_and_tampering_is_detected() -> None:
    key = generate_private_key()
    body = manifest(make_item("a")).canonical_bytes()
    signature = sign(body, key)
    public = public_key_bytes(key)
    assert verify(body, signature, public) and verify(body, signature, key.public_key())
    tampered = body.replace(b'"priority":300', b'"priority":900')
    assert tampered != body and not verify(tampered, signature, public)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify(body, flipped, public)
    assert not verify(body, signature[:10], public)
    assert not verify(body, signature, public_key_bytes(generate_private_key()))
    assert not verify(body, signature, b"short")
    assert open_signed(body, signature, [public_key_bytes(generate_private_key()), public]).items[0].id == "a"
    with pytest.raises(ManifestError) as err:
        open_signed(tampered, signature, [public])
    assert err.value.code == "signature_invalid" and err.value.message == "Chữ ký lịch phát không hợp lệ."
    assert len(key_id(key)) == 16


def test_same_input_same_signature() -> None:
    key = generate_private_key()
    assert sign(manifest(make_item("a")).canonical_bytes(), key) == sign(
        manifest(make_item("a")).canonical_bytes(), key
    )  # Ed25519 is deterministic


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b + b" ", "manifest_not_canonical"),
        (lambda b: b[:-5], "manifest_not_json"),
        (lambda b: b.replace(b'"schema":1', b'"schema":2'), "manifest_bad_schema"),
        (lambda b: b.replace(b'"duration_ms":120000', b'"duration_ms":120001'), "manifest_hash_mismatch"),
        (lambda b: b.replace(b'"duration_ms":120000', b'"duration_ms":-1'), "manifest_invalid"),
        (lambda b: b.replace(b'"manifest_version":1', b'"manifest_version":0'), "manifest_invalid"),
    ],
)
def test_bad_manifest_bytes_are_refused(mutate, code) -> None:  # type: ignore[no-untyped-def]
    body = manifest(make_item("a")).canonical_bytes()
    with pytest.raises(ManifestError) as err:
        decode_manifest(mutate(body))
    assert err.value.code == code
    assert err.value.message.startswith(("Lịch phát", "Mã băm", "Phiên bản"))


def test_a_file_needs_its_hash_and_a_stream_does_not() -> None:
    with pytest.raises(ValueError):
        AudioSource(url="https://x/a.mp3")
    relay = AudioSource(kind=AudioKind.STREAM, url="https://stream.example.vn/vov1")
    assert make_item("r", audio=relay).wire()["audio"] == {"kind": "stream", "url": relay.url}


def test_diff_for_people() -> None:
    old = manifest(make_item("a"), make_item("b", 2), make_item("c", 4))
    new = manifest(make_item("a"), make_item("b", 3), make_item("d", 6), version=2)
    d = diff_manifests(old, new)
    assert [i.id for i in d.added] == ["d"] and [i.id for i in d.removed] == ["c"]
    assert [(c.new.id, c.fields) for c in d.changed] == [("b", ("start_at",))]
    assert d.summary_vi() == "Thêm 1 mục, bỏ 1 mục, thay đổi 1 mục."
    assert diff_manifests(old, old).summary_vi() == "Không có thay đổi."
    assert [i.id for i in diff_manifests(None, old).added] == ["a", "b", "c"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=10).filter(lambda k: k != "items"), json_values, max_size=6), json_values
)
def test_splicing_equals_serialising_the_whole(header: dict[str, object], items: object) -> None:
    assert splice_canonical(header, "items", canonical_json(items)) == canonical_json(
        {**header, "items": items}
    )


def test_protocol_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, loa.protocol.manifest, loa.protocol.timeline, loa.protocol.priority;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'fastapi', 'dateutil', 'lunardate', 'jinja2', 'typer')"
        " or m.startswith('loa.schedule')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
