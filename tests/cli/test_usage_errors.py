"""Mistyped commands reach a person as one Vietnamese line and a help hint, never a stack trace."""

from __future__ import annotations

import sys

import pytest

from loa.cli import main


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["loa", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected", "hint"),
    [
        (("nosuch",), "Lỗi: Không có lệnh «nosuch».", "Xem hướng dẫn: loa --help"),
        (("demo", "--bogus"), "Lỗi: Không có tùy chọn --bogus.", "Xem hướng dẫn: loa demo --help"),
        (
            ("serve", "--port", "abc"),
            "Lỗi: Giá trị không hợp lệ cho '--port': phải là số nguyên.",
            "loa serve --help",
        ),
        (("users", "create"), "Lỗi: Thiếu", "Xem hướng dẫn: loa users create --help"),
    ],
)
def test_usage_errors_are_vietnamese(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    expected: str,
    hint: str,
) -> None:
    code, err = run(monkeypatch, capsys, *args)
    assert code == 2
    assert err.startswith(expected), err
    assert hint in err
    assert "Traceback" not in err and "Error:" not in err and "No such" not in err and "╭" not in err


def test_a_group_alone_shows_its_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["loa", "users"])
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    assert exited.value.code == 2
    assert "Tạo người dùng mới." in out.out + out.err
    assert "Traceback" not in out.out + out.err
