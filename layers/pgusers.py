"""The users directory in PostgreSQL (`PostGISUsers`): the `UserDirectory` of users.py, shared by app instances.

Same rules as the embedded `SqliteUsers`: Argon2id password hashes (re-hashed when the parameters change), API
tokens and session ids stored only as their SHA-256, sessions that expire, an append-only audit log. Tables:
layers/migrations/002_users.sql. A lost database answers 503 (`geo.errors.Unavailable`, via pgdb.connection).
"""

from __future__ import annotations

import builtins
import datetime as _dt
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from .pgdb import connection
from .users import (
    SESSION_DAYS,
    TOKEN_PREFIX,
    AuditEntry,
    Credentials,
    User,
    UserError,
    check_new_user,
    secret_digest,
    verify_password,
)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _stamp(moment: _dt.datetime) -> str:
    """A time as the users directory shows it (ISO 8601 UTC, seconds)."""
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(row: tuple[Any, ...] | None) -> User | None:
    return User(row[0], row[1], _stamp(row[2])) if row else None


class PostGISUsers:
    """`UserDirectory` in PostgreSQL (see the module docstring). Thread-safe: each call takes a pooled connection."""

    def __init__(self, pool: ConnectionPool, *, session_days: int = SESSION_DAYS) -> None:
        self.pool = pool
        self.session_days = session_days
        self._hasher = PasswordHasher()

    def add(self, name: str, role: str) -> Credentials:
        check_new_user(name, role)
        password = secrets.token_urlsafe(12)
        created = _now()
        with connection(self.pool) as con:
            done = con.execute(
                "INSERT INTO users (name, role, password, created) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, role, self._hasher.hash(password), created),
            ).fetchone()
            if done is None:
                raise UserError(f"user {name!r} exists already")
        return Credentials(User(name, role, _stamp(created)), password, self.new_token(name))

    def list(self) -> list[User]:
        with connection(self.pool) as con:
            rows = con.execute("SELECT name, role, created FROM users ORDER BY name").fetchall()
        return [User(name, role, _stamp(created)) for name, role, created in rows]

    def get(self, name: str) -> User | None:
        with connection(self.pool) as con:
            return _user(con.execute("SELECT name, role, created FROM users WHERE name = %s", (name,)).fetchone())

    def check_password(self, name: str, password: str) -> User | None:
        with connection(self.pool) as con:
            row = con.execute("SELECT role, password, created FROM users WHERE name = %s", (name,)).fetchone()
        ok, rehashed = verify_password(self._hasher, row[1] if row else None, password)
        if not ok or row is None:
            return None
        if rehashed:
            with connection(self.pool) as con:
                con.execute("UPDATE users SET password = %s WHERE name = %s", (rehashed, name))
        return User(name, row[0], _stamp(row[2]))

    def new_token(self, name: str) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with connection(self.pool) as con:
            if con.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone() is None:
                raise UserError(f"no user {name!r}")
            con.execute(
                "INSERT INTO user_tokens (digest, name, created) VALUES (%s, %s, %s)",
                (secret_digest(token), name, _now()),
            )
        return token

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with connection(self.pool) as con:
            row = con.execute(
                "SELECT u.name, u.role, u.created FROM user_tokens t JOIN users u ON u.name = t.name"
                " WHERE t.digest = %s",
                (secret_digest(token),),
            ).fetchone()
        return _user(row)

    def start_session(self, name: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = _now()
        with connection(self.pool) as con:
            con.execute("DELETE FROM user_sessions WHERE expires < %s", (now,))
            con.execute(
                "INSERT INTO user_sessions (digest, name, created, expires) VALUES (%s, %s, %s, %s)",
                (secret_digest(session_id), name, now, now + _dt.timedelta(days=self.session_days)),
            )
        return session_id

    def session_user(self, session_id: str) -> User | None:
        with connection(self.pool) as con:
            row = con.execute(
                "SELECT u.name, u.role, u.created FROM user_sessions s JOIN users u ON u.name = s.name"
                " WHERE s.digest = %s AND s.expires >= %s",
                (secret_digest(session_id), _now()),
            ).fetchone()
        return _user(row)

    def end_session(self, session_id: str) -> None:
        with connection(self.pool) as con:
            con.execute("DELETE FROM user_sessions WHERE digest = %s", (secret_digest(session_id),))

    def record(self, actor: str, action: str, layer: str, **detail: Any) -> None:
        with connection(self.pool) as con:
            con.execute(
                "INSERT INTO audit_log (at, actor, action, layer, detail) VALUES (%s, %s, %s, %s, %s)",
                (_now(), actor, action, layer, Jsonb(detail, dumps=_dumps)),
            )

    def audit(self, limit: int = 200) -> builtins.list[AuditEntry]:
        with connection(self.pool) as con:
            rows = con.execute(
                "SELECT at, actor, action, layer, detail FROM audit_log ORDER BY id DESC LIMIT %s", (int(limit),)
            ).fetchall()
        return [AuditEntry(_stamp(at), actor, action, layer, detail) for at, actor, action, layer, detail in rows]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


__all__ = ["PostGISUsers"]
