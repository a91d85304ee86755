"""Mass email: personalised render rate, and SQS messages per 100,000 recipients.

No AWS. A realistic staff-written mass email (a subject with "First Name", a ~1.5 KB plain-text body
using both placeholder styles, ``"First Name"`` and ``{{ first_name }}``, with a conditional and a
``default`` filter) is compiled once with ``crm_core.mail.render.StaffTemplate`` and rendered for N
recipients (100,000; ``--quick``: 10,000). Recipients come from a pool of 1,000 (handed out again and
again, so making them costs nothing during the measurement): names with accents, some missing a first
name, organisations, and one in fifty with hostile data (``<script>``, a CR/LF header injection attempt).
Their unsubscribe URLs are signed before the clock starts, except in the last row.

- ``ours``: ``StaffTemplate.render``: the subject, the text part and the HTML part in the layout,
  and the List-Unsubscribe headers, for each recipient.
- ``ours + token``: the same, also signing each recipient's unsubscribe token
  (``UnsubscribeSigner.token`` and ``urls``), as the sender does.
- ``baseline jinja2``: the same subject and body compiled once as plain ``jinja2.Template`` objects
  (no sandbox, no layout, no HTML part, no cleaning of the values): the floor of rendering with jinja2.
- ``baseline str.format``: ``str.format`` of the same subject and body text: the floor of any templating.

Each subject renders the first 1,000 recipients once unmeasured, then N timed with ``time.perf_counter``,
in five rounds with the subjects interleaved.
Nothing passes or fails here; the target, at least 5,000 emails a second on one core, is printed beside
the figure. Run:

    .venv/bin/python bench/mail_render.py            # 100,000 recipients
    .venv/bin/python bench/mail_render.py --quick    # 10,000 recipients
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared")]

import jinja2  # noqa: E402

from crm_core.mail import RECIPIENTS_PER_MESSAGE  # noqa: E402
from crm_core.mail.render import Rendered, StaffTemplate, placeholders  # noqa: E402
from crm_core.mail.unsubscribe import UnsubscribeSigner  # noqa: E402

POOL = 1_000
TARGET = 5_000
BASE_URL = "https://api.example.org/prod"
MAILING_ID = "01JC0MAILING0000000000000A"
SUBJECT = '"First Name", your spring programme is here'
BODY = """Dear "First Name",

Spring is nearly here, and with it our new programme of courses, open days and member evenings. \
We have put together the highlights below so that you can plan ahead, {{ first_name | default("friend") }}.

Courses start in the week of 14 April. Places are limited to twelve a group, so that every participant \
gets the attention they need; members book a week before everyone else, and the early-booking discount \
of ten per cent runs until the end of March.
{% if organization_name %}

As {{ organization_name }} is one of our partner organisations, your colleagues can join at the member \
rate: forward them this email, or ask us for a group booking.
{% endif %}

Open days are held on the first Saturday of each month from 10am to 4pm. Come and see the studios, meet \
the tutors and try a short taster session. There is no need to book: just come along, and bring a friend \
if you like.

Member evenings return on the last Thursday of the month, with a talk, a glass of something and plenty \
of time to talk to others who share your interests. This season's speakers include two of our own \
tutors and a guest from the regional museum.

Your customer number is {{ customer_number }}: quote it when you call or write, and we can find your \
details straight away.

If you have any questions, reply to this email or call us on 020 7946 0000, Monday to Friday, 9am to \
5pm. We look forward to seeing you again soon, "First Name" "Last Name".

Kind regards,
The programme team
"""

FIRST = ["Ada", "Zoë", "José", "Siobhán", "Mei", "Oluwaseun", "Łukasz", "Ana-María", "Björn", "Priya"]
LAST = ["Lovelace", "Ó Briain", "García", "Nguyễn", "Okafor", "Kowalski", "Müller", "Smith-Jones", "Chen", "Patel"]


def pool() -> list[dict[str, str | None]]:
    made: list[dict[str, str | None]] = []
    for n in range(POOL):
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        recipient: dict[str, str | None] = {
            "first_name": first, "last_name": last, "organization_name": None,
            "customer_number": str(100_000 + n), "email": f"customer{n}@example.org"}
        if n % 10 == 3:
            recipient["organization_name"] = f"Riverside Housing Co-operative {n}"
        if n % 25 == 7:
            recipient["first_name"] = None
        if n % 50 == 0:  # hostile data: markup and a header injection attempt
            recipient["first_name"] = "<script>alert(1)</script>"
            recipient["last_name"] = "Smith\r\nBcc: victim@example.org"
        made.append(recipient)
    return made


def format_text(source: str) -> str:
    """The same text as a ``str.format`` string: placeholders as ``{name}``, the conditional kept."""
    text = placeholders(source)
    text = re.sub(r"\{%.*?%\}\n?", "", text)
    return re.sub(r"\{\{\s*(\w+)[^}]*\}\}", r"{\1}", text)


Subject = Callable[[int], None]


def measure(subjects: list[tuple[str, Subject]], n: int, rounds: int = 5) -> dict[str, float]:
    """Emails a second for each subject: the first 1,000 recipients once unmeasured, then n timed, in
    ``rounds`` interleaved rounds (so that a busy moment of the machine falls on every subject alike)."""
    for _, render in subjects:
        for i in range(POOL):
            render(i)
    spent = dict.fromkeys((name for name, _ in subjects), 0.0)
    per_round = n // rounds
    for r in range(rounds):
        for name, render in subjects:
            began = time.perf_counter()
            for i in range(r * per_round, (r + 1) * per_round):
                render(i)
            spent[name] += time.perf_counter() - began
    return {name: per_round * rounds / seconds for name, seconds in spent.items()}


class _InstantSes:
    """An SES client that answers at once: what is left is the sender's own pacing."""

    def __init__(self) -> None:
        self.calls = 0

    def send_email(self, **_: object) -> dict[str, str]:
        self.calls += 1
        return {"MessageId": f"m{self.calls}"}


def pacing(sample: Rendered, quick: bool) -> None:
    """The sender's wall time at a configured rate, beside the time that rate allows (same run)."""
    from crm_core.dal.ses import SesMail

    print("\nSending pace (SesMail against an SES that answers at once; the configured rate decides):")
    print(f"{'rate (emails/s)':>16} {'emails':>7} {'seconds':>8} {'emails / rate':>14} {'ratio':>6}")
    for rate, count in ((50.0, 50 if quick else 200), (200.0, 200 if quick else 600)):
        ses = _InstantSes()
        sender = SesMail(ses, "News <news@example.org>", rate)
        began = time.perf_counter()
        for n in range(count):
            sender.send(f"person{n}@example.org", sample.subject, sample.text, sample.html, sample.headers)
        took = time.perf_counter() - began
        allowed = (count - 1) / rate  # the first goes at once, then one every 1/rate seconds
        print(f"{rate:>16,.0f} {count:>7,} {took:>8.2f} {allowed:>14.2f} {took / allowed:>6.2f}")
    print("sending time follows the configured rate: ratio ≈ 1.00 (a little above: building each MIME message)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 recipients instead of 100,000")
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    recipients = pool()
    signer = UnsubscribeSigner(b"bench-unsubscribe-signing-key-0123456789")
    urls = [signer.urls(BASE_URL, signer.token(f"01JC0CUSTOMER{i:013d}", MAILING_ID)) for i in range(POOL)]

    began = time.perf_counter()
    template = StaffTemplate(SUBJECT, BODY)
    compile_ms = (time.perf_counter() - began) * 1000
    sample = template.render(recipients[1], *urls[1])

    def ours(i: int) -> None:
        k = i % POOL
        template.render(recipients[k], *urls[k])

    def ours_token(i: int) -> None:
        k = i % POOL
        template.render(recipients[k], *signer.urls(BASE_URL, signer.token(f"01JC0CUSTOMER{k:013d}", MAILING_ID)))

    plain = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)  # noqa: S701 - text only
    plain_subject, plain_body = plain.from_string(placeholders(SUBJECT)), plain.from_string(placeholders(BODY))
    plain_values = [{k: v for k, v in r.items() if v} for r in recipients]

    def baseline_jinja(i: int) -> None:
        values = plain_values[i % POOL]
        plain_subject.render(values)
        plain_body.render(values)

    format_subject, format_body = format_text(SUBJECT), format_text(BODY)
    format_values = [{k: v or "" for k, v in r.items()} for r in recipients]

    def baseline_format(i: int) -> None:
        values = format_values[i % POOL]
        format_subject.format_map(values)
        format_body.format_map(values)

    subjects: list[tuple[str, Subject]] = [
        ("ours", ours), ("ours + token", ours_token), ("baseline jinja2", baseline_jinja),
        ("baseline str.format", baseline_format)]
    rates = measure(subjects, n)

    print(f"Mass-mail render: {n:,} recipients, subject {len(SUBJECT)} and body {len(BODY):,} characters "
          f"(placeholders {', '.join(template.variables)}), Python {sys.version.split()[0]}, one core")
    print(f"compile once: {compile_ms:.1f} ms; one email: subject {len(sample.subject)}, text "
          f"{len(sample.text.encode()):,} bytes, HTML {len(sample.html.encode()):,} bytes\n")
    print(f"{'subject':<20} {'emails/s':>10} {'us/email':>9} {'vs baseline':>12}")
    for name, rate in rates.items():
        ratio = "" if name.startswith("ours") else f"{rate / rates['ours']:.1f}x"
        print(f"{name:<20} {rate:>10,.0f} {1e6 / rate:>9.1f} {ratio:>12}".rstrip())
    met = "met" if rates["ours"] >= TARGET else "NOT met"
    print(f"\ntarget: ours >= {TARGET:,} emails/s on one core: {met} ({rates['ours'] / TARGET:.1f}x the target)")
    print("vs baseline: how many times longer ours takes than the baseline rendering the same recipients.")

    per_100k = math.ceil(100_000 / RECIPIENTS_PER_MESSAGE)
    ids = [f"01JC0CUSTOMER{i:013d}" for i in range(RECIPIENTS_PER_MESSAGE)]
    message = json.dumps({"kind": "send", "mailing_id": MAILING_ID, "ids": ids}).encode()
    print(f"\nSQS fan-out: one message per batch of RECIPIENTS_PER_MESSAGE = {RECIPIENTS_PER_MESSAGE} recipients")
    measured = "" if n == 100_000 else f" ({math.ceil(n / RECIPIENTS_PER_MESSAGE):,} for {n:,})"
    print(f"messages = ceil(recipients / {RECIPIENTS_PER_MESSAGE}) = ceil(100,000 / {RECIPIENTS_PER_MESSAGE}) "
          f"= {per_100k:,} per 100,000 recipients{measured}")
    print(f"a message's body (mailing id + {RECIPIENTS_PER_MESSAGE} customer ids as JSON): {len(message):,} bytes "
          f"of SQS's 256 KiB")
    batch_ms = RECIPIENTS_PER_MESSAGE / rates["ours + token"] * 1000
    print(f"rendering one message's batch (ours + token): {batch_ms:.1f} ms")
    pacing(sample, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
