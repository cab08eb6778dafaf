"""Exceptions that carry their HTTP status; the web layer maps them to JSON errors in one place."""

from __future__ import annotations


class ApiError(Exception):
    """An error a client caused; `status` is the HTTP status it maps to."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict[str, object]:
        return {"error": self.message, **self.details}


class BadRequest(ApiError):
    """A parameter is malformed or out of range (400)."""

    status = 400


class NotFound(ApiError):
    """An unknown layer, region, feature or name (404)."""

    status = 404


class Busy(ApiError):
    """Every slot for an expensive job is taken; the client should retry after `retry_after` seconds (503)."""

    status = 503

    def __init__(self, message: str, *, retry_after: int, **details: object) -> None:
        super().__init__(message)
        self.details = {**details, "retry_after": retry_after}
        self.retry_after = retry_after


class Unavailable(Busy):
    """A service the answer needs (the database) cannot be reached right now; retry after `retry_after` s (503)."""

    def __init__(self, message: str, *, retry_after: int = 5, **details: object) -> None:
        super().__init__(message, retry_after=retry_after, **details)
