"""The PostgreSQL connection of the app: a psycopg 3 connection pool opened from `database_url`, the schema
migrations, and the one mapping of a lost database to a 503.

- `open_pool(url)` checks the database answers (else `DatabaseStartError`, one line: the entry points print it
  and exit 2) and opens a `psycopg_pool.ConnectionPool` whose connections are checked when taken (a connection
  broken by a database restart is replaced, not handed out) and whose waits are bounded (`connect_timeout`,
  the pool's `timeout`), so no request hangs for more than a few seconds when the database is gone.
- `migrate(pool)` applies the plain SQL files `layers/migrations/NNN_name.sql` in number order, each in its own
  transaction, and records each in `schema_version`. Every step first takes a transaction-scoped advisory lock,
  so app instances starting at once apply each file exactly once; running it again does nothing. Numbers
  001–049 belong to the user-layer store and the users directory, 050–099 to boundaries and curated layers.
- `connection(pool)` is one transaction (committed at the end, rolled back on an exception) that turns "the
  database cannot be reached" (`OperationalError`, a pool timeout) into `geo.errors.Unavailable` (503 JSON with
  Retry-After).

SQL is parameterised everywhere (`%s` with values passed apart); identifiers are composed with `psycopg.sql`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from geo.errors import Unavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_FILE = re.compile(r"^(\d{3})_([A-Za-z0-9_]+)\.sql$")
MIGRATION_LOCK = 7_304_281_625_310_524_001  # pg_advisory_xact_lock key of the migrations (any fixed bigint)
CONNECT_TIMEOUT_S = 3  # libpq connect_timeout: how long one connection attempt may take
POOL_TIMEOUT_S = 4.0  # how long a request waits for a pooled connection before answering 503
RETRY_AFTER_S = 5
# libpq options of every connection: bounded connects, and a server that vanishes without closing the socket
# (a network partition) is noticed within seconds instead of when TCP gives up minutes later.
CONNECTION_OPTIONS: dict[str, int | str] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms
}
LOST = (psycopg.OperationalError, PoolTimeout, PoolClosed)  # what "the database is not there" looks like


class DatabaseStartError(RuntimeError):
    """The database cannot be used at start-up (unreachable, or a migration failed); the message is one line."""


def describe(url: str) -> str:
    """`host:port/dbname` of a libpq URL, without user or password (safe to print)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "the configured database"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or ''}"


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message."""
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    return lines[0] if lines else type(exc).__name__


def open_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = POOL_TIMEOUT_S, name: str = "kechuang"
) -> ConnectionPool:
    """A connection pool on `url`, opened; `DatabaseStartError` (one line) when the database does not answer."""
    where = describe(url)
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as con:
            con.execute("SELECT 1")
    except psycopg.Error as exc:
        raise DatabaseStartError(f"database {where} is unreachable: {one_line(exc)}") from None
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        kwargs={**CONNECTION_OPTIONS, "application_name": name},
        check=ConnectionPool.check_connection,
        name=name,
        open=False,
    )
    try:
        pool.open(wait=True, timeout=max(timeout, CONNECT_TIMEOUT_S * 2))
    except PoolTimeout as exc:
        pool.close()
        raise DatabaseStartError(f"database {where} is unreachable: {one_line(exc)}") from None
    return pool


def unavailable(exc: BaseException) -> Unavailable:
    """The 503 a lost database answers."""
    return Unavailable(
        f"the database is unreachable right now ({one_line(exc)[:160]}); the map still shows what it has, "
        f"retry changes in a few seconds",
        retry_after=RETRY_AFTER_S,
    )


@contextmanager
def connection(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """One transaction on a pooled connection; a lost database raises `Unavailable` (503)."""
    try:
        with pool.connection() as con:
            yield con
    except LOST as exc:
        log.warning("database unreachable: %s", one_line(exc))
        raise unavailable(exc) from exc


def migrations(directory: Path = MIGRATIONS) -> list[tuple[int, str, Path]]:
    """The migration files (number, name, path) in order; two files with one number are an error."""
    found: dict[int, tuple[int, str, Path]] = {}
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_FILE.match(path.name)
        if match is None:
            raise DatabaseStartError(f"migration file {path.name} is not named NNN_name.sql")
        number = int(match.group(1))
        if number in found:
            raise DatabaseStartError(f"migrations {found[number][2].name} and {path.name} share number {number}")
        found[number] = (number, match.group(2), path)
    return [found[n] for n in sorted(found)]


def migrate(pool: ConnectionPool, directory: Path = MIGRATIONS) -> list[int]:
    """Apply the migrations the database lacks (see the module docstring); the numbers applied now."""
    applied: list[int] = []
    try:
        with pool.connection() as con:
            con.commit()  # start from no open transaction: each step below is its own
            for number, name, path in migrations(directory):
                with con.transaction():
                    con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    con.execute(
                        "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, name text NOT NULL,"
                        " applied timestamptz NOT NULL DEFAULT now())"
                    )
                    if con.execute("SELECT 1 FROM schema_version WHERE version = %s", (number,)).fetchone():
                        continue
                    con.execute(path.read_bytes())  # a whole file of statements, no parameters
                    con.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (number, name))
                    applied.append(number)
                    log.info("applied migration %03d_%s", number, name)
    except LOST as exc:
        raise DatabaseStartError(f"database unreachable while migrating: {one_line(exc)}") from None
    except psycopg.Error as exc:
        raise DatabaseStartError(f"migration failed: {one_line(exc)}") from None
    return applied


def schema_version(pool: ConnectionPool) -> int:
    """The highest migration applied (0 before the first)."""
    with connection(pool) as con:
        exists = con.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return 0
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        return int(row[0]) if row else 0


__all__ = [
    "DatabaseStartError",
    "connection",
    "describe",
    "migrate",
    "migrations",
    "open_pool",
    "schema_version",
]
