"""Writes sent with an ``Idempotency-Key`` header happen once: a retry of a write that already landed gets the
first answer again instead of writing twice (Powertools idempotency, records in the customers table under
``IDEMPOTENCY#api-request``, kept 24 hours). The key counts per signed-in user, route and path; the same key with
another body is refused (422 ``idempotency_key_reused``), and one whose first request is still being served
is 409 ``request_under_way``. Only answers below 300 are kept: a refusal or a failure may be sent again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.errors import BadRequest, IdempotencyKeyReused, RequestUnderWay

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEEP_SECONDS = 24 * 3600


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


def once(key: str, user: str, event: dict[str, Any], context: LambdaContext,
         serve: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The answer to this write: the first one's if it was served before under this key, else ``serve()``."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from crm_core.wiring import request_idempotency

    config = IdempotencyConfig(event_key_jmespath="[user, route, path, key]", payload_validation_jmespath="body",
                               raise_on_no_idempotency_key=True, expires_after_seconds=KEEP_SECONDS)
    config.register_lambda_context(context)

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        response = serve()
        if int(response.get("statusCode", 500)) >= 300:
            raise _NotKept(response)
        return response

    request = {"user": user, "route": f"{event.get('httpMethod')} {event.get('resource')}",
               "path": event.get("path"), "key": key, "body": event.get("body") or ""}
    try:
        kept: dict[str, Any] = idempotent_function(data_keyword_argument="request",
                                                   persistence_store=request_idempotency(),
                                                   config=config)(answer)(request=request)
    except _NotKept as not_kept:
        return not_kept.response
    except IdempotencyValidationError:
        raise IdempotencyKeyReused("this Idempotency-Key was used for another request; use a new one") from None
    except IdempotencyAlreadyInProgressError:
        raise RequestUnderWay("a request with this Idempotency-Key is being served; ask again shortly") from None
    return kept
