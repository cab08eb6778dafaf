"""A throw-away PostgreSQL 15 + PostGIS cluster for the tests: started in a temporary directory, stopped and removed.

`Cluster` runs Debian's binaries (`/usr/lib/postgresql/15/bin`) as the `postgres` system user when the tests run
as root (PostgreSQL refuses to run as root), listens on 127.0.0.1 on a free port with its socket in its own
directory, and trusts local connections (nothing else can reach it). `template` is a database with the PostGIS
extension; `fresh()` copies it into a new empty database in a fraction of a second, one per test. `loaded()`
copies a second template that holds the Zhejiang boundaries and curated layers (the two load commands, run once
per cluster): an app on PostGIS needs them to start.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
MISSING = (
    f"PostgreSQL 15 is missing ({BIN}/initdb): `make test` installs Debian's postgresql-15 and "
    "postgresql-15-postgis-3 (make system-deps)"
)
TEMPLATE = "kechuang_template"
LOADED = "kechuang_loaded"
_names = itertools.count(1)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One PostgreSQL cluster in a temporary directory (see the module docstring)."""

    def __init__(self) -> None:
        if not (BIN / "initdb").exists() or not (BIN / "pg_ctl").exists():
            raise RuntimeError(MISSING)
        self.root = Path(tempfile.mkdtemp(prefix="kc-pg-"))  # under /tmp: reachable by the postgres user
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        self._loaded = False
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": 200,
            "shared_buffers": "'32MB'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in options.items())
        self.start()
        self.psql("postgres", f"CREATE DATABASE {TEMPLATE}")
        self.psql(TEMPLATE, "CREATE EXTENSION postgis")

    def _run(self, *args: object) -> str:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def psql(self, database: str, statement: str) -> str:
        """Run one SQL statement as the superuser (set-up only; tests use psycopg)."""
        return self._run(BIN / "psql",
                         "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.root, "-p", self.port,
                         "-U", "postgres", "-d", database, "-c", statement)  # fmt: skip

    def url(self, database: str) -> str:
        """The libpq URL of one database of the cluster (TCP on 127.0.0.1)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server at once (`-m fast`: open sessions are ended, nothing is lost)."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def fresh(self, prefix: str = "kc", template: str = TEMPLATE) -> str:
        """A new database copied from the PostGIS template (or another); its URL."""
        name = f"{prefix}_{os.getpid()}_{next(_names)}"
        for attempt in range(20):  # the template may be in use for a moment by another copy
            try:
                self.psql("postgres", f"CREATE DATABASE {name} TEMPLATE {template}")
                break
            except RuntimeError:
                if attempt == 19:
                    raise
                time.sleep(0.1)
        return self.url(name)

    def loaded(self, prefix: str = "kc") -> str:
        """A new database holding the embedded boundaries and curated layers (as `python -m boundaries load`
        and `python -m layers load` leave it); its URL."""
        if not self._loaded:
            from layers.pgdata import cli_load
            from settings import load_settings

            self.psql("postgres", f"CREATE DATABASE {LOADED} TEMPLATE {TEMPLATE}")
            settings = load_settings(database_url=self.url(LOADED))
            for kind in ("boundaries", "layers"):
                if cli_load(kind, settings, None) != 0:
                    raise RuntimeError(f"loading the {kind} into the test database failed")
            self._loaded = True
        return self.fresh(prefix, template=LOADED)

    def close(self) -> None:
        """Stop the server and remove the directory."""
        try:
            if self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
