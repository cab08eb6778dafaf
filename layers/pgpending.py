"""Pending imports in PostgreSQL (`PostGISPending`): a list checked on one app instance can be committed on another.

The same contract as the in-memory `PendingImports` (imports_pending.py): an id per checked import, gone after
`ttl` seconds, at most `cap` kept (the oldest go first). The reconciliation is stored pickled WITHOUT the
gazetteer and boundaries it points to (every instance holds its own, and they are large); `get` puts this
instance's back. The pickles are written and read only by the app itself, in its own database.
"""

from __future__ import annotations

import datetime as _dt
import pickle
import time
import uuid
from typing import Any

from psycopg_pool import ConnectionPool

from geo.errors import NotFound

from .importing import Reconciliation
from .imports_pending import Pending
from .pgdb import connection

SHARED = ("gazetteer", "boundaries", "_region_frame")  # held by every instance; not stored


class PostGISPending:
    """`PendingImportStore` in the `pending_imports` table (layers/migrations/003_pending_imports.sql)."""

    def __init__(self, pool: ConnectionPool, gazetteer: Any, boundaries: Any, *, ttl: float, cap: int) -> None:
        self.pool = pool
        self.gazetteer = gazetteer
        self.boundaries = boundaries
        self.ttl = ttl
        self.cap = max(cap, 1)

    def _cutoff(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC) - _dt.timedelta(seconds=self.ttl)

    def add(self, result: Reconciliation, *, owner: str, source: str, title: str) -> str:
        key = uuid.uuid4().hex
        state = {k: v for k, v in vars(result).items() if k not in SHARED}
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        with connection(self.pool) as con:
            con.execute("DELETE FROM pending_imports WHERE created < %s", (self._cutoff(),))
            con.execute(
                "INSERT INTO pending_imports (id, owner, source, title, created, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (key, owner, source, title, _dt.datetime.now(_dt.UTC), payload),
            )
            con.execute(
                "DELETE FROM pending_imports WHERE id IN"
                " (SELECT id FROM pending_imports ORDER BY created DESC, id OFFSET %s)",
                (self.cap,),
            )
        return key

    def get(self, key: str) -> Pending:
        with connection(self.pool) as con:
            row = con.execute(
                "SELECT owner, source, title, payload FROM pending_imports WHERE id = %s AND created >= %s",
                (key, self._cutoff()),
            ).fetchone()
        if row is None:
            raise NotFound(f"no pending import {key!r}: it expired or was saved already; check the file again")
        owner, source, title, payload = row
        result = Reconciliation.__new__(Reconciliation)
        vars(result).update(pickle.loads(payload))  # written by this app only (see the module docstring)
        result.gazetteer = self.gazetteer
        result.boundaries = self.boundaries
        return Pending(result, owner, source, title, time.monotonic())

    def drop(self, key: str) -> None:
        with connection(self.pool) as con:
            con.execute("DELETE FROM pending_imports WHERE id = %s", (key,))

    def __len__(self) -> int:
        with connection(self.pool) as con:
            row = con.execute("SELECT count(*) FROM pending_imports WHERE created >= %s", (self._cutoff(),)).fetchone()
        return int(row[0]) if row else 0


__all__ = ["PostGISPending"]
