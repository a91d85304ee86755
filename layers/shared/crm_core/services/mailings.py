"""Mass email, mail lists, unsubscribe and bounces — after listmonk, whose users lost half a campaign to SES
throttling and saw throttled mail counted as sent.

A mailing goes through the mail queue in three kinds of message:

1. ``plan``: the audience (ids, a saved list, or every page of a search) becomes one ``pending`` recipient
   item each, then one ``send`` message per ``RECIPIENTS_PER_MESSAGE`` recipients.
2. ``send``: for each recipient, ``pending`` → ``sending`` (a conditional write: a redelivered batch finds
   the recipient taken and sends nothing), then skipped (opted out of marketing, suppressed address, no
   email, gone) or rendered and sent through SES at the configured rate, then ``sent`` / ``failed``.
   Throttling is retried with backoff; still throttled, the recipient goes back to ``pending`` and the
   message is retried. The daily quota running out pauses the mailing: the recipient goes back to
   ``pending``, the rest of the batch stays ``pending``, and ``resume`` (hourly) queues the pending ones
   again after the pause — each recipient is sent exactly once, and only a real send counts as sent.
3. ``reset``: a password-reset email (see ``services/login.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from crm_core.clock import iso, utcnow
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.mail import MailRepository
from crm_core.dal.queues import Queue
from crm_core.dal.ses import QuotaExhausted, Rejected, SesMail
from crm_core.errors import ConfigurationError, Conflict, Invalid, NotFound, field_error
from crm_core.ids import new_id
from crm_core.mail import RECIPIENTS_PER_MESSAGE
from crm_core.mail.render import TemplateRefused
from crm_core.models.customer import PAGE_MAX, EmailPreferencesPut, SearchParams
from crm_core.models.mail import Mailing as MailingView
from crm_core.models.mail import (
    MailingCreate,
    MailingPreview,
    MailList,
    MailListPut,
    MailListSummary,
    Preview,
    RecipientOutcome,
    plain,
)
from crm_core.models.messages import PlanMailing, QueueMessage, SendBatch
from crm_core.services.customers import CustomerService
from crm_core.text import normalise_email

PAUSE = timedelta(hours=6)  # after the daily quota ran out: try again then (the quota is a rolling 24 hours)


class MailingService:
    def __init__(self, customers: CustomerRepository, customer_service: CustomerService, mail: MailRepository,
                 mail_queue: Queue | None, base_url: Callable[[], str] | None,
                 signing_key: Callable[[], str] | None, sender: Callable[[], SesMail] | None = None,
                 cursors: CursorCodec | None = None) -> None:
        self._customers = customers
        self._service = customer_service
        self._mail = mail
        self._mail_queue = mail_queue
        self._base_url = base_url  # read when a link is made: a value read at run time
        self._key = signing_key
        self._sender = sender
        self._cursors = cursors
        self._templates: dict[str, Any] = {}
        self._tally: dict[str, int] = {}

    # ---- staff -----------------------------------------------------------------------------------------

    def preview(self, request: MailingPreview) -> Preview:
        from crm_core.mail.render import recipient_of

        customer = self._customers.get(request.customer_id)
        if customer is None:
            raise Invalid("no such customer", fields=[field_error("customer_id", "no such customer")])
        template = self._compile(request.subject, request.body)
        try:
            rendered = template.render(recipient_of(customer), *self._unsubscribe_urls(customer.id, "preview"))
        except Exception as failure:  # noqa: BLE001 - said to staff as a refusal of the body, never a 500
            raise Invalid(f"the email cannot be rendered for this customer: {failure}",
                          fields=[field_error("body", f"cannot be rendered: {failure}")]) from None
        return Preview(subject=rendered.subject, text=rendered.text, html=rendered.html, headers=rendered.headers)

    def create(self, request: MailingCreate, actor: str) -> MailingView:
        self._compile(request.subject, request.body)  # refused now, with the field, if it cannot render
        if request.list_id and self._mail.get_list(request.list_id) is None:
            raise Invalid("no such mail list", fields=[field_error("list_id", "no such mail list")])
        mailing: dict[str, Any] = {"id": new_id(), "subject": request.subject, "body": request.body, "status": "queued",
                   "created_at": iso(utcnow()), "created_by": actor, "total": 0, "counts": {},
                   "audience": request.model_dump(mode="json", include={"ids", "list_id", "search"},
                                                  exclude_none=True)}
        self._mail.create_mailing(mailing)
        self._queue([PlanMailing(mailing_id=mailing["id"])])
        return self.get(mailing["id"])

    def get(self, mailing_id: str, limit: int | None = None, cursor: str | None = None) -> MailingView:
        """The mailing and a page of its recipients' outcomes (``next_cursor``: a signed cursor to the next)."""
        if self._cursors is None:
            raise ConfigurationError("this function reads no mailings")
        mailing = self._mail.mailing(mailing_id)
        if mailing is None:
            raise NotFound(f"mailing {mailing_id} does not exist")
        scope = CursorCodec.scope_of("mailing", mailing_id)
        after = str(self._cursors.decode(cursor, scope)) if cursor else None
        recipients, last = self._mail.recipients(mailing_id, limit or PAGE_MAX, after)
        view = MailingView.model_validate(plain(mailing))
        view.recipients = [RecipientOutcome.model_validate(r) for r in recipients]
        view.next_cursor = self._cursors.encode(scope, last) if last else None
        return view

    # ---- mail lists --------------------------------------------------------------------------------------

    def save_list(self, request: MailListPut, actor: str, list_id: str | None = None) -> MailList:
        current = self._mail.get_list(list_id) if list_id else None
        if list_id and current is None:
            raise NotFound(f"mail list {list_id} does not exist")
        if current is not None and request.version != current["version"]:
            raise Conflict("the list changed since you read it", current_version=current["version"])
        mail_list = {"id": list_id or new_id(), "name": request.name, "ids": list(dict.fromkeys(request.ids)),
                     "version": (current["version"] + 1) if current else 1, "created_by": actor,
                     "updated_at": iso(utcnow())}
        from botocore.exceptions import ClientError

        try:
            self._mail.put_list(mail_list, current["version"] if current else None)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Conflict("the list changed since you read it") from None
            raise
        return MailList.model_validate(mail_list)

    def get_list(self, list_id: str) -> MailList:
        found = self._mail.get_list(list_id)
        if found is None:
            raise NotFound(f"mail list {list_id} does not exist")
        return MailList.model_validate(plain(found))

    def lists(self) -> list[MailListSummary]:
        return [MailListSummary(id=f["id"], name=f["name"], size=len(f["ids"]), version=f["version"],
                                updated_at=f["updated_at"]) for f in self._mail.lists()]

    def delete_list(self, list_id: str) -> None:
        if not self._mail.delete_list(list_id):
            raise NotFound(f"mail list {list_id} does not exist")

    # ---- the mailer --------------------------------------------------------------------------------------

    def plan(self, mailing_id: str) -> int:
        mailing = self._mail.mailing(mailing_id)
        if mailing is None or mailing["status"] != "queued":
            return 0  # planned already (a redelivered message)
        if not mailing.get("recipients_written"):
            ids = self._audience(mailing["audience"])
            self._mail.add_recipients(mailing_id, ids)
            self._mail.set_mailing(mailing_id, {"recipients_written": True, "total": len(ids),
                                                "counts": {"pending": len(ids), "sent": 0, "skipped": 0,
                                                           "failed": 0}})
        else:
            ids = self._mail.pending_recipients(mailing_id)
        self._send_batches(mailing_id, ids)
        self._mail.set_mailing(mailing_id, {"status": "sending" if ids else "completed"}, only_if="queued")
        return len(ids)

    def send(self, mailing_id: str, ids: list[str]) -> dict[str, int]:
        """Send one batch. Raises ``Throttled`` (the message is retried) after putting the recipient back."""

        mailing = self._mail.mailing(mailing_id)
        done: dict[str, int] = {"sent": 0, "skipped": 0, "failed": 0, "paused": 0}
        if mailing is None or mailing["status"] not in ("sending", "queued"):
            return done
        try:
            template = self._compile(mailing["subject"], mailing["body"])
        except TemplateRefused as refused:  # saved before today's checks: it fails for every recipient, said so
            for customer_id in ids:
                if self._mail.claim_recipient(mailing_id, customer_id):
                    self._finish(mailing_id, customer_id, "failed", f"the email cannot be rendered: {refused}")
                    done["failed"] += 1
            self._count(mailing_id)
            return done
        customers = self._customers.get_many(ids)
        suppressed = self._mail.suppressed([normalise_email(c.email) for c in customers.values() if c.email])
        sender = self._sender_now()
        try:
            return self._send(mailing_id, ids, template, customers, suppressed, sender, done)
        finally:
            self._count(mailing_id)  # what was sent is counted even when the batch stops part-way

    def _send(self, mailing_id: str, ids: list[str], template: Any, customers: dict[str, Any],
              suppressed: dict[str, str], sender: SesMail, done: dict[str, int]) -> dict[str, int]:
        from crm_core.mail.render import recipient_of

        for customer_id in ids:
            if not self._mail.claim_recipient(mailing_id, customer_id):
                continue  # sent, skipped or being sent by another delivery
            customer = customers.get(customer_id)
            reason = _skip_reason(customer, suppressed)
            if reason:
                self._finish(mailing_id, customer_id, "skipped", reason)
                done["skipped"] += 1
                continue
            assert customer is not None and customer.email
            try:
                rendered = template.render(recipient_of(customer), *self._unsubscribe_urls(customer.id, mailing_id))
            except Exception as failure:  # noqa: BLE001 - one recipient's email failing never stops the others
                self._finish(mailing_id, customer_id, "failed", f"the email cannot be rendered: {failure}"[:500])
                done["failed"] += 1
                continue
            try:
                message_id = sender.send(customer.email, rendered.subject, rendered.text, rendered.html,
                                         rendered.headers)
            except QuotaExhausted as exhausted:
                self._mail.release_recipient(mailing_id, customer_id)
                resume = utcnow() + PAUSE
                self._mail.set_mailing(mailing_id, {"status": "paused", "resume_after": iso(resume),
                                                    "paused_reason": f"the SES sending quota ran out ({exhausted})"},
                                       only_if="sending")
                done["paused"] = 1
                return done
            except Rejected as rejected:
                self._finish(mailing_id, customer_id, "failed", str(rejected))
                done["failed"] += 1
                continue
            except Exception:
                # throttled past the retries, or a fault SES did not explain: the recipient goes back to pending
                # (never left sending) and the batch is retried
                self._mail.release_recipient(mailing_id, customer_id)
                raise
            self._finish(mailing_id, customer_id, "sent", message_id=message_id)
            done["sent"] += 1
        return done

    def send_one(self, to: str, rendered: Any) -> str:
        """Account mail (a password reset): one message, at the same pace, no unsubscribe headers."""
        return self._sender_now().send(to, rendered.subject, rendered.text, rendered.html, rendered.headers)

    def resume(self, now: datetime | None = None) -> int:
        """Queue the pending recipients of paused mailings whose pause is over."""
        moment = now or utcnow()
        resumed = 0
        for mailing_id in self._mail.paused_mailings():
            mailing = self._mail.mailing(mailing_id)
            if mailing is None or str(mailing.get("resume_after", "")) > iso(moment):
                continue
            if self._mail.set_mailing(mailing_id, {"status": "sending"}, only_if="paused"):
                self._send_batches(mailing_id, self._mail.pending_recipients(mailing_id))
                resumed += 1
        return resumed

    def check_unsubscribe(self, token: str) -> None:
        """``BadToken`` (400) unless the unsubscribe link is one of ours; changes nothing."""
        from crm_core.mail.unsubscribe import UnsubscribeSigner

        UnsubscribeSigner(self._signing_key()).read(token)

    def unsubscribe(self, token: str) -> dict[str, str]:
        """Opt the customer out of marketing email: queued for the mailer, which applies it (``opt_out``); the
        same answer however often it is used."""
        from crm_core.mail.unsubscribe import UnsubscribeSigner
        from crm_core.models.messages import MarketingOptOut

        customer_id, _ = UnsubscribeSigner(self._signing_key()).read(token)
        self._queue([MarketingOptOut(customer_id=customer_id)])
        return {"message": "You are unsubscribed: we will not send you marketing email any more."}

    def opt_out(self, customer_id: str) -> bool:
        """Marketing email off for the customer (if it was on, and the customer is still here); whether it was."""
        customer = self._customers.get(customer_id)
        if customer is None or not customer.email_preferences.marketing or customer.status == "merged":
            return False
        self._service.set_email_preferences(customer_id, EmailPreferencesPut(marketing=False),
                                            "the customer (unsubscribe link)")
        return True

    def bounced(self, notification: dict[str, Any]) -> int:
        """An SES bounce or complaint notification: permanent bounces and complaints suppress the address."""
        kind = notification.get("notificationType") or notification.get("eventType")
        addresses: list[str] = []
        if kind == "Bounce" and notification.get("bounce", {}).get("bounceType") == "Permanent":
            addresses = [r["emailAddress"] for r in notification["bounce"].get("bouncedRecipients", [])]
            reason = "bounced"
        elif kind == "Complaint":
            addresses = [r["emailAddress"] for r in notification.get("complaint", {}).get("complainedRecipients", [])]
            reason = "complained"
        for address in addresses:
            self._mail.suppress(normalise_email(address), reason, json.dumps(notification.get(kind.lower(), {}))
                                if kind else "")
        return len(addresses)

    # ---- helpers ------------------------------------------------------------------------------------------

    def _finish(self, mailing_id: str, customer_id: str, outcome: str, reason: str | None = None,
                message_id: str | None = None) -> None:
        if self._mail.finish_recipient(mailing_id, customer_id, outcome, reason, message_id):
            self._tally[outcome] = self._tally.get(outcome, 0) + 1

    def _count(self, mailing_id: str) -> None:
        """Add the batch's outcomes to the mailing at once; the last batch completes it."""
        tally, self._tally = self._tally, {}
        if not tally:
            return
        counts = self._mail.count(mailing_id, tally)["counts"]
        if int(counts.get("pending", 0)) <= 0:
            self._mail.set_mailing(mailing_id, {"status": "completed", "finished_at": iso(utcnow())},
                                   only_if="sending")

    def _audience(self, audience: dict[str, Any]) -> list[str]:
        if "ids" in audience:
            return list(dict.fromkeys(audience["ids"]))
        if "list_id" in audience:
            found = self._mail.get_list(audience["list_id"])
            return list(found["ids"]) if found else []
        ids: list[str] = []
        cursor = None
        while True:
            page = self._service.search(SearchParams(**audience["search"], limit=100, cursor=cursor))
            ids += [c.id for c in page.items]
            if not page.next_cursor:
                return list(dict.fromkeys(ids))
            cursor = page.next_cursor

    def _send_batches(self, mailing_id: str, ids: list[str]) -> None:
        self._queue([SendBatch(mailing_id=mailing_id, ids=ids[n:n + RECIPIENTS_PER_MESSAGE])
                     for n in range(0, len(ids), RECIPIENTS_PER_MESSAGE)])

    def _compile(self, subject: str, body: str) -> Any:
        from crm_core.mail.render import StaffTemplate

        cache_key = f"{subject}\0{body}"
        if cache_key not in self._templates:
            if len(self._templates) > 20:
                self._templates.clear()
            self._templates[cache_key] = StaffTemplate(subject, body)  # TemplateRefused names the field
        return self._templates[cache_key]

    def _unsubscribe_urls(self, customer_id: str, mailing_id: str) -> tuple[str, str]:
        from crm_core.mail.unsubscribe import UnsubscribeSigner

        if self._base_url is None:
            raise ConfigurationError("PUBLIC_BASE_URL_PARAMETER is not set for this function")
        token = UnsubscribeSigner(self._signing_key()).token(customer_id, mailing_id)
        return UnsubscribeSigner.urls(self._base_url(), token)

    def link(self, path: str) -> str:
        """A link in an email to a page of the organisation's site (``path`` from its root)."""
        if self._base_url is None:
            raise ConfigurationError("PUBLIC_BASE_URL_PARAMETER is not set for this function")
        return self._base_url().rstrip("/") + path

    def _signing_key(self) -> bytes:
        if self._key is None:
            raise ConfigurationError("UNSUBSCRIBE_SIGNING_SECRET is not set for this function")
        return self._key().encode()

    def _sender_now(self) -> SesMail:
        if self._sender is None:
            raise ConfigurationError("this function does not send email")
        return self._sender()

    def _queue(self, messages: list[QueueMessage]) -> None:
        if self._mail_queue is None:
            raise ConfigurationError("MAIL_QUEUE_URL is not set for this function")
        if messages:
            self._mail_queue.send(messages)


def _skip_reason(customer: Any, suppressed: dict[str, str]) -> str | None:
    if customer is None:
        return "the customer no longer exists"
    if customer.status == "merged":
        return "the customer is merged into another"
    if not customer.email:
        return "no email address"
    if not customer.email_preferences.marketing:
        return "opted out of marketing email"
    if normalise_email(customer.email) in suppressed:
        return f"the address is suppressed ({suppressed[normalise_email(customer.email)]})"
    return None
