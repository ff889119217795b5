"""A small progress interface so long work can report without knowing about the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    """Something that shows progress: ``task`` starts a bar and returns its advance function."""

    def task(self, description: str, total: int | None) -> Advance: ...


class NoProgress:
    """Progress that shows nothing (library use, tests)."""

    def task(self, description: str, total: int | None) -> Advance:
        return _ignore


def _ignore(_n: int) -> None:
    return None
