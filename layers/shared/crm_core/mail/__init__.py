"""Email: staff-written mass mail and account mail rendered with jinja2, and signed unsubscribe links.

- ``crm_core.mail.render``: ``StaffTemplate`` (a staff-written mass email, compiled once in jinja2's
  sandbox and rendered per recipient), ``render_password_reset`` and the ``Rendered`` result.
- ``crm_core.mail.unsubscribe``: ``UnsubscribeSigner``, non-expiring signed unsubscribe tokens and their URLs.

This module imports nothing itself (jinja2 costs a cold start), so a function that only needs the constant
below or the unsubscribe signer (the public unsubscribe endpoint) does not pay for the templates.
"""

from __future__ import annotations

RECIPIENTS_PER_MESSAGE = 50
"""Recipients per SQS message of the mass-mail fan-out: the sender renders and sends one batch per message,
so a mailing to N recipients is ``ceil(N / RECIPIENTS_PER_MESSAGE)`` messages (2,000 per 100,000)."""
