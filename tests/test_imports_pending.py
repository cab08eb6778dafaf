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


def test_postgis_pending_imports_are_shared_capped_and_used_once(pg_pool):
    """Two instances on one database: a list checked on one is found (and saved the same) on the other."""
    from boundaries.gazetteer import Gazetteer
    from boundaries.store import load
    from layers.importing import ImportOptions, read_upload, reconcile
    from layers.pgpending import PostGISPending
    from settings import load_settings

    settings = load_settings()
    boundaries = load(settings.boundaries)
    gazetteer = Gazetteer.of(boundaries)
    options = ImportOptions()
    table = read_upload(None, None, options, settings, text="西湖区\n萧山\n")
    result = reconcile(table, gazetteer, boundaries, options)
    a = PostGISPending(pg_pool, gazetteer, boundaries, ttl=3600, cap=2)
    b = PostGISPending(pg_pool, gazetteer, boundaries, ttl=3600, cap=2)

    key = a.add(result, owner="ed", source="pasted names", title="名单")
    found = b.get(key)
    assert (found.owner, found.source, found.title) == ("ed", "pasted names", "名单")
    assert found.result.gazetteer is gazetteer and found.result.boundaries is boundaries
    assert found.result.report() == result.report()
    saved = found.result.features()
    assert sorted(saved["name"]) == ["萧山区", "西湖区"] and saved.crs.to_epsg() == 4326

    b.drop(key)
    with pytest.raises(NotFound):
        a.get(key)
    keys = [a.add(result, owner="ed", source=f"{n}.csv", title=str(n)) for n in range(3)]
    with pytest.raises(NotFound):
        b.get(keys[0])  # the oldest went when a third came
    assert b.get(keys[2]).title == "2" and len(b) == 2
    gone = PostGISPending(pg_pool, gazetteer, boundaries, ttl=0, cap=2)
    assert len(gone) == 0  # with no time to live every entry has expired
