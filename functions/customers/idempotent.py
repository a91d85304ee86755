"""Writes sent with an ``Idempotency-Key`` header happen once: a retry of a write that already landed gets the
first answer again instead of writing twice (Powertools idempotency, records in the customers table under
``IDEMPOTENCY#api-request``, kept 24 hours).

After the IETF idempotency-key draft: a key counts per signed-in user; the request it was first sent with —
method, path, query string and body — is its fingerprint. The same key with another request is refused (422
``idempotency_key_reused``); one whose first request is still being served is 409 ``request_under_way``. Only
answers below 300 are kept: a refusal or a failure may be sent again. The answer of a route that hands out a
secret (``crm_core.roles.SECRET_ANSWERS``: a temporary password, a download or upload link) is never kept: the
key still makes the write happen once, and a retry is 409 ``answer_not_kept``.

The store failing never reaches the client as a Lambda error: throttled, it is 503 ``retry_later``; anything
else, the one 500 body. If it fails after the write was served, the served answer is given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from crm_core.errors import AnswerNotKept, BadRequest, IdempotencyKeyReused, RequestUnderWay
from crm_core.roles import SECRET_ANSWERS, route_key

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEEP_SECONDS = 24 * 3600
NOT_KEPT = {"answer_kept": False}  # what is stored in place of an answer that holds a secret


class _NotKept(Exception):
    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("not kept")
        self.response = response


def idempotency_key(event: dict[str, Any]) -> str | None:
    """The request's ``Idempotency-Key`` on a write (None without one); 400 for one that cannot be a key."""
    if str(event.get("httpMethod") or "").upper() not in WRITES:
        return None
    key = next((str(v) for k, v in (event.get("headers") or {}).items() if str(k).lower() == "idempotency-key"),
               None)
    if key is not None and not 1 <= len(key.strip()) <= 255:
        raise BadRequest("Idempotency-Key must be 1 to 255 characters")
    return key.strip() if key else None


def fingerprint(event: dict[str, Any]) -> dict[str, Any]:
    """What a key stands for: the method, the path, the query string (every value, in order) and the body."""
    multi = event.get("multiValueQueryStringParameters") or {}
    single = event.get("queryStringParameters") or {}
    query = {str(k): [str(v) for v in values] for k, values in multi.items()} if multi else {
        str(k): [str(v)] for k, v in single.items()}
    return {"method": str(event.get("httpMethod") or "").upper(), "path": str(event.get("path") or ""),
            "query": sorted(query.items()), "body": event.get("body") or ""}


def once(key: str, user: str, event: dict[str, Any], context: LambdaContext, logger: Logger,
         serve: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The answer to this write: the first one's if it was served before under this key, else ``serve()``."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    from crm_core.dal.dynamo import error_code, raise_if_throttled
    from crm_core.wiring import request_idempotency

    config = IdempotencyConfig(event_key_jmespath="[user, key]", payload_validation_jmespath="request",
                               raise_on_no_idempotency_key=True, expires_after_seconds=KEEP_SECONDS)
    config.register_lambda_context(context)
    secret = route_key(str(event.get("httpMethod") or ""), str(event.get("resource") or "")) in SECRET_ANSWERS
    served: list[dict[str, Any]] = []

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        response = serve()
        served.append(response)
        if int(response.get("statusCode", 500)) >= 300:
            raise _NotKept(response)
        return NOT_KEPT if secret else response

    try:
        kept: dict[str, Any] = idempotent_function(data_keyword_argument="request",
                                                   persistence_store=request_idempotency(),
                                                   config=config)(answer)(
            request={"user": user, "key": key, "request": fingerprint(event)})
    except _NotKept as not_kept:
        return not_kept.response
    except IdempotencyValidationError:
        raise IdempotencyKeyReused("this Idempotency-Key was used for another request; use a new one") from None
    except IdempotencyAlreadyInProgressError:
        raise RequestUnderWay("a request with this Idempotency-Key is being served; ask again shortly") from None
    except IdempotencyPersistenceLayerError as failed:
        cause = failed.__cause__
        if served:  # the write landed: its answer stands, though the store could not record it
            code = error_code(cause) if isinstance(cause, ClientError) else type(cause or failed).__name__
            logger.warning("idempotency record not completed", extra={"cause": code})
            return served[0]
        if isinstance(cause, ClientError):
            raise_if_throttled(cause)  # 503 with Retry-After (crm_core.http), as any throttled table call
        raise  # the one 500 answer, logged as unexpected
    if served:
        return served[0]
    if kept == NOT_KEPT:
        raise AnswerNotKept("the request with this Idempotency-Key was served, and its answer holds a secret that "
                            "is never kept; send a new request (with a new key) for a new one")
    return kept

