"""The emails SES "sent" on the local stack: moto keeps them in the emulator's process, which is the process
of ``crm serve``; its API server hands them out at ``/_local/outbox`` for ``crm outbox``."""

from __future__ import annotations

import email
from email.message import Message
from typing import Any


def sent_emails() -> list[dict[str, Any]]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    found = []
    for region, backend in ses_backends[DEFAULT_ACCOUNT_ID].items():
        for message in backend.sent_messages:
            raw = getattr(message, "raw_data", None)
            if raw is None:
                continue
            parsed = email.message_from_string(raw)
            found.append({"id": message.id, "region": region, "from": parsed["From"], "to": parsed["To"],
                          "subject": parsed["Subject"], "headers": _extra_headers(parsed),
                          "text": _part(parsed, "text/plain"), "html": _part(parsed, "text/html")})
    return found


def _part(message: Message, kind: str) -> str:
    for part in message.walk():
        if part.get_content_type() == kind:
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
    return ""


def _extra_headers(message: Message) -> dict[str, str]:
    return {k: str(v) for k, v in message.items() if k.lower().startswith("list-")}
