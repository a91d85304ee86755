"""Domain errors. Services raise these; the API maps them to HTTP in one place."""

from __future__ import annotations

from typing import Any


class ConfigurationError(RuntimeError):
    """The function's environment is missing or invalid: a deployment fault, not a client one."""


class DomainError(Exception):
    """An error a client can act on. ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: list[dict[str, str]] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        self.details = details


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class Malformed(BadRequest):
    """The body is not JSON we can read (or nests deeper than any request needs)."""

    code = "malformed"


class NotSignedIn(DomainError):
    status = 401
    code = "not_signed_in"


class Forbidden(DomainError):
    """The signed-in user's roles do not include one the route needs (``crm_core.roles``)."""

    status = 403
    code = "forbidden"


class NoRole(Forbidden):
    """The signed-in user is in none of the staff groups."""

    code = "no_role"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RequestUnderWay(Conflict):
    """A request with the same ``Idempotency-Key`` is being served right now."""

    code = "request_under_way"


class AnswerNotKept(Conflict):
    """A retry (same ``Idempotency-Key``) of a request that was served, whose answer held a secret and so was
    never kept: it cannot be given again, and the request is not made twice."""

    code = "answer_not_kept"


class CustomerMerged(Conflict):
    """The customer was merged into another and takes no more changes (``merged_into`` names it)."""

    code = "customer_merged"


class CustomerHasTransactions(Conflict):
    code = "has_transactions"


class MayNotAccruePoints(Conflict):
    code = "may_not_accrue"


class TransitionRefused(Conflict):
    code = "transition_refused"


class UsernameTaken(Conflict):
    code = "username_taken"


class VersionConflict(Conflict):
    code = "version_conflict"


class DuplicateCustomer(Conflict):
    """Same email, or same name and postcode, as an existing customer; creation may be confirmed."""

    code = "possible_duplicate"


class Invalid(DomainError):
    status = 422
    code = "invalid"


class IdempotencyKeyReused(Invalid):
    """An ``Idempotency-Key`` already used for a different request."""

    code = "idempotency_key_reused"


class TemplateRefused(Invalid, ValueError):
    """A staff template that cannot be saved: ``field`` is ``subject`` or ``body``, ``reason`` says why
    (with the line where there is one). The API answers it as a 422 naming the field."""

    code = "template_refused"

    def __init__(self, field: str, reason: str, line: int | None = None) -> None:
        super().__init__(f"{field}: {reason}", fields=[field_error(field, reason)])
        self.field = field
        self.reason = reason
        self.line = line


class BadToken(BadRequest, ValueError):
    """The token was not issued by us with this key: edited, truncated, malformed or for another purpose."""

    code = "bad_token"

    def __init__(self) -> None:
        reason = "is not an unsubscribe link we sent; use the link in the email as it is"
        super().__init__(f"token {reason}", fields=[field_error("token", reason)])


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class RetryLater(DomainError):
    """AWS throttled us past the retry budget; the client should retry after a pause (``Retry-After``)."""

    status = 503
    code = "retry_later"
    retry_after_seconds = 2

    def __init__(self, message: str, *, retry_after: int | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        if retry_after is not None:
            self.retry_after_seconds = retry_after


class TooManyAttempts(RetryLater):
    """A rate limit: ``Retry-After`` says when the window that refused it ends."""

    status = 429
    code = "too_many_attempts"


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"


class SignInRefused(DomainError):
    status = 403
    code = "sign_in_refused"


class PasswordChangeRequired(DomainError):
    status = 403
    code = "password_change_required"


class InvalidToken(BadRequest):
    code = "invalid_token"


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
