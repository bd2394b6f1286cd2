"""Materialised unit paths (``/51/21484/``): the chain of codes from the province down, which scope
checks and subtree queries use without recursion."""

from __future__ import annotations


def make_path(parent_path: str | None, code: str) -> str:
    if "/" in code or not code:
        raise ValueError(f"invalid unit code {code!r}")
    return f"{parent_path or '/'}{code}/"


def path_codes(path: str) -> list[str]:
    """'/51/21484/' → ['51', '21484']."""
    return [part for part in path.split("/") if part]


def ancestor_paths(path: str) -> list[str]:
    """Paths of the unit's ancestors, outermost first, excluding the unit itself."""
    codes = path_codes(path)
    return ["/" + "/".join(codes[:i]) + "/" for i in range(1, len(codes))]


def is_within(path: str, ancestor_path: str) -> bool:
    """True when ``path`` is ``ancestor_path`` or lies below it."""
    return path.startswith(ancestor_path)


def rebase_path(path: str, old_prefix: str, new_prefix: str) -> str:
    """Move a descendant's path when its ancestor moves from ``old_prefix`` to ``new_prefix``."""
    if not path.startswith(old_prefix):
        raise ValueError(f"{path!r} is not under {old_prefix!r}")
    return new_prefix + path[len(old_prefix) :]
