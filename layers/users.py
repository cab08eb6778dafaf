"""Who may change user layers: users with roles, their passwords, API tokens and sessions, and the audit log.

Reading needs no user. Roles rank reader < editor < admin: an editor imports, replaces, renames and deletes user
layers; an admin also reads the audit log. `UserDirectory` is the interface (layers/pgusers.py keeps it in PostGIS);
`SqliteUsers` keeps everything in one SQLite file (default `<data_dir>/users.sqlite`, WAL mode).

Passwords are hashed with argon2-cffi (Argon2id, its recommended parameters; re-hashed when they change).
API tokens and session ids are 256-bit random strings shown once; only their SHA-256 is stored (a fast hash is
enough for random secrets of that length, and it lets a request find its user with one indexed lookup).
"""

from __future__ import annotations

import argparse
import builtins
import datetime as _dt
import hashlib
import json
import re
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geo.errors import ApiError

FILE_NAME = "users.sqlite"
ROLES = ("reader", "editor", "admin")
TOKEN_PREFIX = "kc_"
SESSION_DAYS = 14
NAME_PATTERN = re.compile(r"^[\w.@-]{1,64}$")


class UserError(ApiError):
    """A user cannot be created or changed as asked (400)."""

    status = 400


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created: str

    def can(self, role: str) -> bool:
        """Whether this user holds `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Credentials:
    """What `add` hands out once: the user, a one-time password and an API token (neither is stored)."""

    user: User
    password: str
    token: str


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str  # import | replace | rename | delete | restore
    layer: str
    detail: dict[str, Any]


@runtime_checkable
class UserDirectory(Protocol):
    """Users, their credentials and sessions, and the audit log."""

    def add(self, name: str, role: str) -> Credentials: ...

    def list(self) -> list[User]: ...

    def get(self, name: str) -> User | None: ...

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (same answer for an unknown name)."""
        ...

    def new_token(self, name: str) -> str:
        """A new API token for the user (earlier tokens stay valid)."""
        ...

    def user_for_token(self, token: str) -> User | None: ...

    def start_session(self, name: str) -> str:
        """A new session id for a signed-in user (keep it in a signed cookie)."""
        ...

    def session_user(self, session_id: str) -> User | None:
        """The user of a live session, or None once it ended or expired."""
        ...

    def end_session(self, session_id: str) -> None: ...

    def record(self, actor: str, action: str, layer: str, **detail: Any) -> None:
        """Add a line to the audit log."""
        ...

    def audit(self, limit: int = 200) -> builtins.list[AuditEntry]:
        """The latest audit lines, newest first."""
        ...


def verify_password(hasher: PasswordHasher, hashed: str | None, password: str) -> tuple[bool, str | None]:
    """Whether `password` matches the stored hash (None: no such user, hashed anyway so an unknown name costs
    the same time as a wrong password), and a fresh hash when the stored one's parameters are outdated."""
    if hashed is None:
        hasher.hash(password or "-")
        return False, None
    try:
        hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(hashed) else None


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _stamp(moment: _dt.datetime | None = None) -> str:
    return (moment or _now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def secret_digest(secret: str) -> str:
    """The SHA-256 (hex) kept for a token or session id."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_new_user(name: str, role: str) -> None:
    """UserError unless `name` is a valid user name and `role` a role."""
    if not NAME_PATTERN.match(name or ""):
        raise UserError("a user name is 1–64 letters, digits, '.', '@', '_' or '-'")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, got {role!r}")


SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
  created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, name TEXT NOT NULL REFERENCES users(name),
  created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (digest TEXT PRIMARY KEY, name TEXT NOT NULL REFERENCES users(name),
  created TEXT NOT NULL, expires TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, layer TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
"""


class SqliteUsers:
    """`UserDirectory` in one SQLite file; each call opens its own connection (threads and processes share it)."""

    def __init__(self, path: Path | str, *, session_days: int = SESSION_DAYS) -> None:
        self.path = Path(path)
        self.session_days = session_days
        self._hasher = PasswordHasher()
        self._ready = False

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if not self._ready:
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(SCHEMA)
                self._ready = True
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    def add(self, name: str, role: str) -> Credentials:
        check_new_user(name, role)
        password = secrets.token_urlsafe(12)
        user = User(name, role, _stamp())
        with self._db() as con:
            if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"user {name!r} exists already")
            con.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?)", (name, role, self._hasher.hash(password), user.created)
            )
        return Credentials(user, password, self.new_token(name))

    def list(self) -> list[User]:
        with self._db() as con:
            return [User(*r) for r in con.execute("SELECT name, role, created FROM users ORDER BY name")]

    def get(self, name: str) -> User | None:
        with self._db() as con:
            row = con.execute("SELECT name, role, created FROM users WHERE name = ?", (name,)).fetchone()
        return User(*row) if row else None

    def check_password(self, name: str, password: str) -> User | None:
        with self._db() as con:
            row = con.execute("SELECT role, password, created FROM users WHERE name = ?", (name,)).fetchone()
        ok, rehashed = verify_password(self._hasher, row[1] if row else None, password)
        if not ok or row is None:
            return None
        if rehashed:
            with self._db() as con:
                con.execute("UPDATE users SET password = ? WHERE name = ?", (rehashed, name))
        return User(name, row[0], row[2])

    def new_token(self, name: str) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db() as con:
            if not con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"no user {name!r}")
            con.execute("INSERT INTO tokens VALUES (?, ?, ?)", (secret_digest(token), name, _stamp()))
        return token

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._db() as con:
            row = con.execute(
                "SELECT u.name, u.role, u.created FROM tokens t JOIN users u ON u.name = t.name WHERE t.digest = ?",
                (secret_digest(token),),
            ).fetchone()
        return User(*row) if row else None

    def start_session(self, name: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = _now()
        with self._db() as con:
            con.execute("DELETE FROM sessions WHERE expires < ?", (_stamp(now),))
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (secret_digest(session_id), name, _stamp(now), _stamp(now + _dt.timedelta(days=self.session_days))),
            )
        return session_id

    def session_user(self, session_id: str) -> User | None:
        with self._db() as con:
            row = con.execute(
                "SELECT u.name, u.role, u.created FROM sessions s JOIN users u ON u.name = s.name"
                " WHERE s.digest = ? AND s.expires >= ?",
                (secret_digest(session_id), _stamp()),
            ).fetchone()
        return User(*row) if row else None

    def end_session(self, session_id: str) -> None:
        with self._db() as con:
            con.execute("DELETE FROM sessions WHERE digest = ?", (secret_digest(session_id),))

    def record(self, actor: str, action: str, layer: str, **detail: Any) -> None:
        with self._db() as con:
            con.execute(
                "INSERT INTO audit (at, actor, action, layer, detail) VALUES (?, ?, ?, ?, ?)",
                (_stamp(), actor, action, layer, json.dumps(detail, ensure_ascii=False, default=str)),
            )

    def audit(self, limit: int = 200) -> builtins.list[AuditEntry]:
        with self._db() as con:
            rows = con.execute(
                "SELECT at, actor, action, layer, detail FROM audit ORDER BY id DESC LIMIT ?", (int(limit),)
            ).fetchall()
        return [AuditEntry(at, actor, action, layer, json.loads(detail)) for at, actor, action, layer, detail in rows]


def open_users(data_dir: Path) -> UserDirectory:
    """The embedded user directory of a data directory."""
    return SqliteUsers(Path(data_dir) / FILE_NAME)


def cli(argv: list[str], directory: Callable[[], UserDirectory]) -> int:
    """`python -m layers users add NAME --role editor|admin` (prints `password: …` and `token: …`) and
    `python -m layers users list`; `directory()` opens the users directory once the arguments are good."""
    parser = argparse.ArgumentParser(prog="python -m layers users", description="Manage who may edit user layers.")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a user; prints a one-time password and an API token")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="editor")
    sub.add_parser("list", help="list users and their roles")
    token = sub.add_parser("token", help="print a new API token for a user")
    token.add_argument("name")
    args = parser.parse_args(argv)
    users = directory()
    try:
        if args.action == "add":
            creds = users.add(args.name, args.role)
            print(f"password: {creds.password}")
            print(f"token: {creds.token}")
        elif args.action == "token":
            print(f"token: {users.new_token(args.name)}")
        else:
            for user in users.list():
                print(f"{user.name}\t{user.role}\t{user.created}")
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    return 0
