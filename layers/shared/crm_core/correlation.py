"""The correlation id of the work in hand: an API request's id, or the id a queue message carries.

Handlers set it when work starts (``use``); the queue adapter stamps it on every message it sends, and the
function that takes the message sets it again, so one id follows a request through every queue it causes
work on, in every log line on the way.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    return _current.get()


def use(value: str | None, logger: Logger | None = None) -> None:
    """Make ``value`` the correlation id of the work in hand (and of the logger's lines, if given)."""
    _current.set(value)
    if logger is not None:
        logger.set_correlation_id(value)
