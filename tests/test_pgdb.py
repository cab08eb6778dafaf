"""The PostgreSQL connection: migrations applied once (also by instances starting together), and a database
that cannot be reached refused in one line."""

from __future__ import annotations

import threading

import psycopg
import pytest

from layers import pgdb
from tests.postgis import free_port


def test_migrations_apply_once_in_order(fresh_postgis):
    pool = pgdb.open_pool(fresh_postgis)
    try:
        numbers = [n for n, _, _ in pgdb.migrations()]
        assert numbers == sorted(numbers) and numbers[0] == 1
        assert pgdb.migrate(pool) == numbers
        assert pgdb.migrate(pool) == []  # idempotent
        assert pgdb.schema_version(pool) == numbers[-1]
        with psycopg.connect(fresh_postgis) as con:
            rows = con.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
            assert [r[0] for r in rows] == numbers
            assert con.execute("SELECT value FROM user_store_state WHERE key = 'revision'").fetchone() == (0,)
    finally:
        pool.close()


def test_instances_starting_together_migrate_once(fresh_postgis):
    pools = [pgdb.open_pool(fresh_postgis) for _ in range(4)]
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start(pool) -> None:
        try:
            results.append(pgdb.migrate(pool))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in pools]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in pools:
        p.close()
    assert not errors, errors
    applied = sorted(n for r in results for n in r)
    assert applied == [n for n, _, _ in pgdb.migrations()]  # every file exactly once across the four


def test_unreachable_database_is_one_line():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(pgdb.DatabaseStartError) as caught:
        pgdb.open_pool(url)
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1" in message and "unreachable" in message
