"""Where user layers, users, pending imports, boundaries and curated layers live: the one place that picks the
embedded files or PostGIS.

`open_backends(settings)`: without `database_url`, the embedded store and users directory of the data
directory (userstore.open_store, users.open_users), pending imports in memory, and the boundary GeoPackage and
YAML records (curated.FileData), as always. With it, a connection pool on the database (pgdb.open_pool:
`DatabaseStartError`, one line, when it is unreachable), the migrations applied, and `PostGISStore`,
`PostGISUsers`, `PostGISPending` and `PostGISData` (boundaries and curated layers put there by the two load
commands) on that pool, so several app instances share everything. The web app and every command line open
their backends here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .curated import CuratedSource, FileData
from .users import UserDirectory, open_users
from .userstore import UserLayerStore, open_store

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from settings import Settings

    from .imports_pending import PendingImportStore


@dataclass
class Backends:
    """The user-layer store, the users directory, the catalog's data source and (for PostGIS) the connection
    pool they share."""

    store: UserLayerStore
    users: UserDirectory
    curated: CuratedSource
    pool: ConnectionPool | None = None

    @property
    def kind(self) -> str:
        """`postgis` or `embedded`."""
        return "embedded" if self.pool is None else "postgis"

    def pending_imports(self, gazetteer: Any, boundaries: Any, *, ttl: float, cap: int) -> PendingImportStore:
        """Where checked imports wait: this process's memory, or the database (any instance may commit)."""
        if self.pool is None:
            from .imports_pending import PendingImports

            return PendingImports(ttl=ttl, cap=cap)
        from .pgpending import PostGISPending

        return PostGISPending(self.pool, gazetteer, boundaries, ttl=ttl, cap=cap)

    def shared_secret(self) -> str | None:
        """The cookie-signing key every instance on the database shares (made on first use); None embedded."""
        if self.pool is None:
            return None
        from .pgdb import connection

        with connection(self.pool) as con:
            con.execute(
                "INSERT INTO app_secrets (key, value) VALUES ('secret_key', %s) ON CONFLICT (key) DO NOTHING",
                (secrets.token_urlsafe(48),),
            )
            row = con.execute("SELECT value FROM app_secrets WHERE key = 'secret_key'").fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        """Stop the store's listener and close the pool (nothing to do for the embedded files)."""
        close = getattr(self.store, "close", None)
        if callable(close):
            close()
        self.curated.close()
        if self.pool is not None:
            self.pool.close()


def open_backends(settings: Settings) -> Backends:
    """The backends `settings` ask for (see the module docstring)."""
    if settings.database_url is None:
        files = FileData(settings.boundaries, settings.layers_dir, settings.seeds_dir, settings.allow_unverified)
        return Backends(open_store(settings.data_dir), open_users(settings.data_dir), files)
    from geo.errors import Unavailable

    from .pgdata import PostGISData
    from .pgdb import DatabaseStartError, migrate, open_pool
    from .pgstore import PostGISStore
    from .pgusers import PostGISUsers

    pool = open_pool(settings.database_url, max_size=max(settings.threads, 4) + 4)
    try:
        migrate(pool)
        return Backends(PostGISStore(pool), PostGISUsers(pool), PostGISData(pool), pool)
    except Unavailable as exc:  # the database went away between the checks
        pool.close()
        raise DatabaseStartError(exc.message) from None
    except BaseException:
        pool.close()
        raise


__all__ = ["Backends", "open_backends"]
