"""Pending imports kept in memory: found by id, gone after their time or when too many are kept."""

from __future__ import annotations

import pytest

from geo.errors import NotFound
from layers.imports_pending import PendingImports


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_found_expired_and_capped():
    clock = Clock()
    pending = PendingImports(ttl=60, cap=2, clock=clock)
    a = pending.add("A", owner="ed", source="a.csv", title="a")  # type: ignore[arg-type]
    assert len(a) == 32 and pending.get(a).source == "a.csv"
    b = pending.add("B", owner="ed", source="b.csv", title="b")  # type: ignore[arg-type]
    c = pending.add("C", owner="ed", source="c.csv", title="c")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        pending.get(a)  # the oldest went when a third came
    assert pending.get(b).title == "b" and len(pending) == 2
    clock.now = 61
    with pytest.raises(NotFound):
        pending.get(c)
    assert len(pending) == 0
    pending.drop("nothing")
