"""The local outbox shows sent mail as a person reads it, whatever its charset and transfer encoding."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import boto3
import pytest

from crm_local.outbox import read_email, sent_emails
from crm_local.template import Template

TEXT = "Dear Zoë,\n\nYour café order is ready: 3 crèmes brûlées, 5 €.\n"
HTML = "<p>Dear Zoë, your café order is ready.</p>"


def message(cte: str | None, charset: str = "utf-8") -> EmailMessage:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "Customer Services <no-reply@example.org>"
    mail["To"] = "Zoë O'Brien <zoe@example.ie>"
    mail["Subject"] = "Réservation confirmée — ë"
    mail["List-Unsubscribe"] = "<https://example.org/u/1>"
    mail.set_content(TEXT, charset=charset, cte=cte)
    mail.add_alternative(HTML, subtype="html", charset=charset, cte=cte)
    return mail


@pytest.mark.parametrize(("cte", "charset"), [("8bit", "utf-8"), ("quoted-printable", "utf-8"),
                                              ("base64", "utf-8"), ("quoted-printable", "iso-8859-15"),
                                              ("8bit", "iso-8859-15")])
def test_a_message_reads_as_written_whatever_its_encoding(cte: str, charset: str) -> None:
    raw = message(cte, charset).as_bytes()
    # SES keeps a raw message as the text its bytes decode to (8-bit Latin-1 is not UTF-8)
    stored = raw.decode("utf-8", "surrogateescape")
    shown = read_email(stored)
    assert shown["subject"] == "Réservation confirmée — ë"
    assert shown["to"] == "Zoë O'Brien <zoe@example.ie>"
    assert shown["text"] == TEXT
    assert shown["html"].strip() == HTML
    assert shown["headers"] == {"List-Unsubscribe": "<https://example.org/u/1>"}


def test_mail_sent_through_ses_shows_in_the_outbox_with_its_accents(aws: Template) -> None:
    ses = boto3.client("sesv2")
    ses.send_email(FromEmailAddress="no-reply@example.org", Destination={"ToAddresses": ["zoe@example.ie"]},
                   Content={"Raw": {"Data": message("8bit").as_bytes()}})
    (sent,) = [m for m in sent_emails() if m["to"].endswith("<zoe@example.ie>")]
    assert sent["text"] == TEXT and "Zoë" in sent["html"]
