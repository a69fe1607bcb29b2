"""Domain errors: raised by the rules, readable by a person, translatable by the dialogue layer.

`code` names the situation (the dialogue layer picks a localized sentence by it) and `params` carries the facts
for that sentence; `str(error)` is the English sentence for logs and the command line.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params = params


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"


class InvalidRequest(DomainError):
    code = "invalid_request"


class Conflict(DomainError):
    """The record changed state in a way that makes the operation impossible (e.g. decided twice)."""

    code = "conflict"


class InsufficientBalance(DomainError):
    code = "insufficient_balance"


class InsufficientStock(DomainError):
    code = "insufficient_stock"


class StaleState(DomainError):
    """Optimistic concurrency: someone else saved a newer version first."""

    code = "stale_state"
