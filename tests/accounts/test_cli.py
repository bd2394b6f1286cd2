"""``loa users …`` through the real entry point (``loa.cli.main``) against the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.accounts import service
from loa.accounts.passwords import verify_password
from loa.accounts.principal import Role
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD
from tests.support.cli import run_loa


def _run(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    return run_loa(monkeypatch, engine, capsys, *args)


def test_create_list_and_set_password(
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    session: Session,
    units: Units,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(
        monkeypatch,
        engine,
        capsys,
        "users",
        "create",
        "CanBo",
        "--password",
        DEFAULT_PASSWORD,
        "--role",
        "commune_operator",
        "--area",
        "21484",
        "--display-name",
        "Phạm Thị Lan",
    )
    assert code == 0
    assert out.strip() == "Đã tạo người dùng «canbo» (Cán bộ vận hành đài xã, địa bàn: Xã Ba Tơ)."
    code, out, _ = _run(monkeypatch, engine, capsys, "users", "list")
    assert code == 0 and "canbo\tPhạm Thị Lan\tCán bộ vận hành đài xã\tXã Ba Tơ (21484)" in out
    code, out, _ = _run(
        monkeypatch, engine, capsys, "users", "set-password", "canbo", "--password", "mot-mat-khau-moi"
    )
    assert code == 0 and "Đã đặt mật khẩu mới cho «canbo»." in out
    session.expire_all()
    user = service.get_user_by_username(session, "canbo")
    assert user.role is Role.COMMUNE_OPERATOR
    assert verify_password(user.password_hash, "mot-mat-khau-moi")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "commune_operator", "--area", "99999"), "Lỗi: Không tìm thấy địa bàn mã 99999."),
        (("--role", "chu-tich"), "Lỗi: Vai trò «chu-tich» không tồn tại."),
        (("--role", "commune_operator", "--area", "51"), "chỉ gắn được với xã, phường hoặc đặc khu"),
    ],
)
def test_create_errors_are_one_vietnamese_line(
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    units: Units,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    code, out, err = _run(
        monkeypatch, engine, capsys, "users", "create", "canbo", "--password", DEFAULT_PASSWORD, *args
    )
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_set_password_for_unknown_user(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        monkeypatch, engine, capsys, "users", "set-password", "ai-do", "--password", DEFAULT_PASSWORD
    )
    assert code == 2 and err.strip() == "Lỗi: Không tìm thấy người dùng «ai-do»."
