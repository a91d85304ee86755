"""The emails SES "sent" on the local stack: moto keeps them in the emulator's process, which is the process
of ``crm serve``; its API server hands them out at ``/_local/outbox`` for ``crm outbox``.

Each is shown as a person reads it: headers decoded (``=?utf-8?q?...?=``), bodies decoded whatever their
transfer encoding (8-bit, quoted-printable, base64) and charset.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
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
            found.append({"id": message.id, "region": region, **read_email(raw)})
    return found


def read_email(raw: str | bytes) -> dict[str, Any]:
    """From, To, Subject, the ``List-*`` headers, the text and the HTML of a raw message (SES keeps it as the
    text its bytes decode to; 8-bit bodies in other charsets come back through ``surrogateescape``)."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return {"from": str(parsed["From"] or ""), "to": str(parsed["To"] or ""),
            "subject": str(parsed["Subject"] or ""), "headers": _extra_headers(parsed),
            "text": _part(parsed, "plain"), "html": _part(parsed, "html")}


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown charset: show what can be read
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace").replace("\r\n", "\n") if isinstance(payload, bytes) else ""
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def _extra_headers(message: EmailMessage) -> dict[str, str]:
    return {k: str(v) for k, v in message.items() if k.lower().startswith("list-")}
