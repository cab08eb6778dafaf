"""Imports checked but not yet saved: each reconciliation kept in memory under a random id, for a while.

`POST /api/imports` reconciles a list and keeps the result here; `POST /api/imports/<id>/commit` takes it back
out to save it. Entries expire after `ttl` seconds and at most `cap` are kept (the oldest go first), so abandoned
checks cost no memory for long. Nothing here is saved to disk: a restart forgets pending imports.
`PendingImportStore` is the interface; with a database, layers/pgpending.py keeps them there instead, so an
import checked on one app instance can be committed on another.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from geo.errors import NotFound

from .importing import Reconciliation


@dataclass
class Pending:
    """One checked import: its reconciliation, who checked it, from what file, and when."""

    result: Reconciliation
    owner: str
    source: str
    title: str
    created: float = field(default_factory=time.monotonic)


class PendingImportStore(Protocol):
    """Where checked imports wait for their commit."""

    def add(self, result: Reconciliation, *, owner: str, source: str, title: str) -> str:
        """Keep `result`; its new id."""
        ...

    def get(self, key: str) -> Pending:
        """The pending import `key`, or 404 when it is unknown or expired."""
        ...

    def drop(self, key: str) -> None: ...

    def __len__(self) -> int: ...


class PendingImports:
    """Pending imports by id (uuid4 hex), thread-safe, bounded by `cap` entries and `ttl` seconds."""

    def __init__(self, *, ttl: float = 3600.0, cap: int = 32, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.cap = max(cap, 1)
        self._clock = clock
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, p in self._items.items() if now - p.created > self.ttl]:
            del self._items[key]

    def add(self, result: Reconciliation, *, owner: str, source: str, title: str) -> str:
        """Keep `result`; its new id."""
        key = uuid.uuid4().hex
        with self._lock:
            self._expire()
            self._items[key] = Pending(result, owner, source, title, self._clock())
            while len(self._items) > self.cap:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Pending:
        """The pending import `key`, or 404 when it is unknown or expired."""
        with self._lock:
            self._expire()
            pending = self._items.get(key)
        if pending is None:
            raise NotFound(f"no pending import {key!r}: it expired or was saved already; check the file again")
        return pending

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)
