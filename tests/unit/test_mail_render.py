"""Email rendering: staff templates (placeholders, what is refused, escaping, headers), the password-reset
mail, and signed unsubscribe tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from crm_core.errors import BadRequest, Invalid
from crm_core.mail import RECIPIENTS_PER_MESSAGE
from crm_core.mail.render import (
    BODY_MAX_SOURCE,
    SUBJECT_MAX_CHARS,
    SUBJECT_MAX_SOURCE,
    HeaderRefused,
    Rendered,
    StaffTemplate,
    TemplateRefused,
    recipient_of,
    render_password_reset,
)
from crm_core.mail.unsubscribe import BadToken, UnsubscribeSigner
from crm_core.models.customer import Customer

KEY = b"tests-unsubscribe-signing-key-0123456789"
PAGE = "https://api.example.org/prod/public/unsubscribe?token=abc"
CLICK = "https://api.example.org/prod/public/unsubscribe?token=abc"
ADA: dict[str, str | None] = {"first_name": "Ada", "last_name": "Lovelace", "organization_name": None,
                              "customer_number": "100001", "email": "ada@example.org"}


def render(subject: str, body: str, recipient: dict[str, str | None] | None = None) -> Rendered:
    return StaffTemplate(subject, body).render(ADA if recipient is None else recipient, PAGE, CLICK)


def refused(subject: str, body: str) -> TemplateRefused:
    with pytest.raises(TemplateRefused) as caught:
        StaffTemplate(subject, body)
    return caught.value


# --- placeholders ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ['"First Name"', "\u201cFirst Name\u201d", '"first name"', "\u201dFIRST NAME\u201d",
                                     "{{ first_name }}", "{{first_name}}"], ids=repr)
def test_first_name_placeholder_in_every_style(written: str) -> None:
    # Given a subject and a body using one spelling of the first-name placeholder
    # When it is rendered for Ada
    mail = render(f"Hello {written}!", f"Dear {written},\n\nNews.")
    # Then her first name stands in its place, quotes and all replaced
    assert mail.subject == "Hello Ada!"
    assert mail.text.startswith("Dear Ada,\n\nNews.")
    assert "Dear Ada,</p>" in mail.html


@pytest.mark.parametrize("written", ['"Last Name"', "\u201cLast Name\u201d", '"LAST NAME"', "{{ last_name }}"],
                         ids=repr)
def test_last_name_placeholder_in_every_style(written: str) -> None:
    mail = render(f"For Ms {written}", f"Dear Ms {written}")
    assert mail.subject == "For Ms Lovelace"
    assert mail.text.startswith("Dear Ms Lovelace\n")


def test_other_quoted_text_is_left_alone() -> None:
    # Given quoted words that are not a placeholder
    mail = render("Our \u201cspring\u201d news", 'Say "First Names" or "Name", not "First Name".')
    # Then only the placeholder is replaced
    assert mail.subject == "Our \u201cspring\u201d news"
    assert mail.text.startswith('Say "First Names" or "Name", not Ada.')


def test_every_allowed_variable_filters_and_conditionals() -> None:
    body = ("{{ name }} / {{ organization_name | default('no organisation') }} / {{ customer_number }} / {{ email }}\n"
            "{% if first_name is defined and first_name != 'Bob' %}Hi {{ first_name | upper }}{% else %}Hi there"
            "{% endif %}\n{{ last_name if last_name else 'x' }} {{ first_name ~ '!' }}")
    mail = render("s", body)
    assert mail.text.startswith("Ada Lovelace / no organisation / 100001 / ada@example.org\nHi ADA\nLovelace Ada!")


def test_a_tag_alone_on_its_line_leaves_no_blank_line_and_one_ending_text_keeps_its_break() -> None:
    # Given a conditional paragraph on lines of its own, and an inline conditional ending a line
    body = ("Dear {% if first_name %}{{ first_name }}{% else %}customer{% endif %}\nNews.\n\n"
            "  {% if organization_name %}\nFor {{ organization_name }}.\n\n  {% endif %}\nBye")
    # When rendered for a person, then for an organisation
    person = render("s", body).text
    org = render("s", body, {"organization_name": "Co-op"}).text
    # Then the tag lines vanish and the inline conditional keeps its line break
    assert person.startswith("Dear Ada\nNews.\n\nBye\n")
    assert org.startswith("Dear customer\nNews.\n\nFor Co-op.\n\nBye\n")


def test_missing_values_render_empty_and_defaults_apply() -> None:
    # Given a recipient without a first name (None) and an organisation without a person's name
    org: dict[str, str | None] = {"first_name": None, "organization_name": "Riverside Co-op"}
    # When a template using them is rendered
    mail = render('Hi "First Name"', "Dear {{ first_name | default('friend') }} of {{ name }}, [{{ last_name }}]",
                  org)
    # Then the subject has no stray space, the default applies and name falls back to the organisation
    assert mail.subject == "Hi"
    assert mail.text.startswith("Dear friend of Riverside Co-op, []")


def test_recipient_of_a_customer() -> None:
    now = datetime(2025, 1, 2, tzinfo=UTC)
    customer = Customer(id="01JB2Z6Q3M8V5K7N9P4R2T6W8X", customer_number="100001", type="individual",
                        first_name="Ada", last_name="Lovelace", email="ada@example.org", version=1, created_at=now,
                        updated_at=now, created_by="s", updated_by="s")
    assert recipient_of(customer) == {**ADA, "name": "Ada Lovelace"}


# --- what staff templates may not do ------------------------------------------------------------------

def test_unknown_variable_is_refused_at_compile_time_naming_field_and_line() -> None:
    # Given a body with a misspelt placeholder on line 3
    # When the template is compiled
    error = refused("Hello", "Dear {{ first_name }},\n\n{{ frist_name }} and {{ password }}")
    # Then it is refused, naming the body, the placeholders and the line
    assert error.field == "body" and error.line == 3
    assert "{{ frist_name }} (line 3)" in error.reason and "{{ password }} (line 3)" in error.reason
    assert "first_name, last_name" in error.reason
    # and the API answers it as a 422 naming the field
    assert isinstance(error, Invalid) and isinstance(error, ValueError)
    assert error.fields == [{"field": "body", "message": error.reason}]


def test_unknown_variable_in_the_subject_names_the_subject() -> None:
    assert refused("Hi {{ nickname }}", "Body").field == "subject"


def test_syntax_error_is_refused_with_its_line() -> None:
    error = refused("Hello", "one\ntwo\n{% if first_name %}three")
    assert error.field == "body" and error.line == 3
    assert error.reason.startswith("line 3: ")


def test_unclosed_placeholder_in_the_subject() -> None:
    error = refused("Hello {{ first_name", "Body")
    assert error.field == "subject" and error.line == 1


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ first_name.upper() }}",
    "{{ first_name['x'] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ range(10) }}",
    "{% for x in first_name %}{{ x }}{% endfor %}",
    "{% set first_name = 'x' %}",
    "{% include 'layout.html' %}",
    "{% macro m() %}x{% endmacro %}",
    "{{ first_name | safe }}",
    "{{ first_name | attr('__class__') }}",
    "{{ first_name | default(first_name.__class__) }}",
    "{{ 'x' * 1000000000 }}",
    "{{ self }}",
    "{% filter upper %}x{% endfilter %}",
], ids=repr)
def test_anything_beyond_placeholders_filters_and_conditionals_is_refused(source: str) -> None:
    # Given staff text reaching beyond simple output (attributes, calls, loops, ...)
    # When it is compiled
    error = refused("Hello", f"Dear customer,\n{source}")
    # Then it is refused, naming the body and the line
    assert error.field == "body"
    assert error.line == 2


def test_the_sandbox_is_a_second_wall() -> None:
    # Given an expression reaching for Python internals that got past the syntax-tree check
    from jinja2.exceptions import SecurityError

    from crm_core.mail.render import _sandbox

    template = _sandbox().from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    # Then the sandbox the staff templates are compiled in refuses it when rendered
    with pytest.raises(SecurityError):
        template.render()


def test_size_caps() -> None:
    # Given a subject and a body exactly at their caps, then one character over
    StaffTemplate("s" * SUBJECT_MAX_SOURCE, "b" * BODY_MAX_SOURCE)
    assert refused("s" * (SUBJECT_MAX_SOURCE + 1), "b").field == "subject"
    error = refused("s", "b" * (BODY_MAX_SOURCE + 1))
    assert error.field == "body" and "50,000" in error.reason


@pytest.mark.parametrize(("subject", "body", "field"), [("", "b", "subject"), ("  ", "b", "subject"),
                                                        ("s", "\n \n", "body"), ("one\ntwo", "b", "subject"),
                                                        ("tab\there", "b", "subject")])
def test_empty_sources_and_multi_line_subjects_are_refused(subject: str, body: str, field: str) -> None:
    assert refused(subject, body).field == field


# --- escaping and headers -------------------------------------------------------------------------------

def test_script_in_a_name_is_text_in_html_and_plain_in_text() -> None:
    # Given a recipient whose first name is a script
    hostile = {**ADA, "first_name": "<script>alert(1)</script>"}
    # When a template using the name in the subject and body is rendered
    mail = StaffTemplate('Hi "First Name"', "Dear {{ first_name }} & co").render(hostile, PAGE, CLICK)
    # Then the HTML shows it as text (escaped, in the body and the title), the text part shows it as typed
    assert "<script>" not in mail.html
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in mail.html
    assert "<title>Hi &lt;script&gt;alert(1)&lt;/script&gt;</title>" in mail.html
    assert mail.text.startswith("Dear <script>alert(1)</script> & co")
    assert mail.subject == "Hi <script>alert(1)</script>"


def test_staff_markup_is_shown_as_text_and_paragraphs_are_kept() -> None:
    # Given a plain-text body holding markup, paragraphs and a line break
    mail = render("s", "<b>Big</b> news\nsecond line\n\n\nNext paragraph\n  \nLast")
    # Then the markup is escaped, blank lines make paragraphs and single newlines <br>
    assert ('<p style="margin:0 0 16px 0;">&lt;b&gt;Big&lt;/b&gt; news<br>\nsecond line</p>\n'
            '<p style="margin:0 0 16px 0;">Next paragraph</p>\n<p style="margin:0 0 16px 0;">Last</p>') in mail.html


@pytest.mark.parametrize("name", ["Ada\r\nBcc: victim@example.org", "Ada\nBcc: x", "Ada\rX", "Ada\u2028X",
                                  "Ada\x00\x1bX", "Ada\x85X"], ids=repr)
def test_line_breaks_in_a_name_never_reach_the_subject(name: str) -> None:
    # Given a recipient whose first name holds a line break or control character
    # When it is used in the subject
    mail = render('Hello "First Name", news', "Dear {{ first_name }}", {**ADA, "first_name": name})
    # Then the subject is one line: the breaks became a space (stripped, not refused)
    assert "\r" not in mail.subject and "\n" not in mail.subject
    assert mail.subject.isprintable()
    assert mail.subject.startswith("Hello Ada ")
    # and the body has it on one line too
    assert mail.text.split("\n")[0].startswith("Dear Ada ")


def test_subject_is_capped_at_998_characters() -> None:
    mail = render("{{ first_name }}", "b", {**ADA, "first_name": "x" * 5000})
    assert len(mail.subject) == SUBJECT_MAX_CHARS


def test_unsubscribe_headers_and_footer() -> None:
    # Given a mass email rendered with its unsubscribe links
    page = "https://api.example.org/prod/public/unsubscribe?token=page"
    click = "https://api.example.org/prod/public/unsubscribe?token=click"
    mail = StaffTemplate("s", "b").render(ADA, page, click)
    # Then it carries the RFC 8058 one-click headers, exactly
    assert mail.headers == {"List-Unsubscribe": f"<{click}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    # and both parts link the unsubscribe page in the footer
    assert mail.text.endswith(f"Unsubscribe: {page}\n")
    assert f'<a href="{page}" style="color:#1d4ed8;text-decoration:underline;">Unsubscribe</a>' in mail.html


def test_optional_mailto_in_list_unsubscribe() -> None:
    mail = StaffTemplate("s", "b").render(ADA, PAGE, CLICK, mailto="unsubscribe@example.org?subject=unsubscribe")
    assert mail.headers["List-Unsubscribe"] == f"<{CLICK}>, <mailto:unsubscribe@example.org?subject=unsubscribe>"


@pytest.mark.parametrize("url", ["http://api.example.org/x", "https://api.example.org/x\r\nBcc: y",
                                 "https://api.example.org/x>", "javascript:alert(1)", "https://a.org/x y", ""],
                         ids=repr)
def test_unsafe_unsubscribe_url_is_refused(url: str) -> None:
    template = StaffTemplate("s", "b")
    with pytest.raises(HeaderRefused):
        template.render(ADA, PAGE, url)
    with pytest.raises(HeaderRefused):
        template.render(ADA, url, CLICK)


def test_unsafe_mailto_is_refused() -> None:
    with pytest.raises(HeaderRefused):
        StaffTemplate("s", "b").render(ADA, PAGE, CLICK, mailto="a@example.org>\r\nBcc: x")


def test_loopback_http_is_allowed_for_the_local_stack() -> None:
    url = "http://127.0.0.1:3000/public/unsubscribe?token=t"
    assert StaffTemplate("s", "b").render(ADA, url, url).headers["List-Unsubscribe"] == f"<{url}>"


def test_html_loads_nothing_from_outside() -> None:
    html = render("s", "b").html
    assert "<img" not in html and "<link" not in html and "<script" not in html and "url(" not in html
    assert '<html lang="en">' in html and 'role="presentation"' in html


# --- password reset ---------------------------------------------------------------------------------------

def test_password_reset_has_the_link_in_both_parts_and_no_unsubscribe() -> None:
    # Given a reset link with a query string
    url = "https://app.example.org/reset?token=abc&user=1"
    # When the reset mail is rendered
    mail = render_password_reset("Ada", url, 30)
    # Then the link is in the text as is and in the HTML (escaped), as a button and as text
    assert f"\n{url}\n" in mail.text
    assert mail.html.count('href="https://app.example.org/reset?token=abc&amp;user=1"') == 2
    # and the expiry and "ignore this" are said in both, with no unsubscribe headers or link
    for part in (mail.text, mail.html):
        assert "expires in 30 minutes" in part
        assert "If you did not ask to reset your password, ignore this email" in part
        assert "unsubscribe" not in part.lower()
    assert mail.headers == {}
    assert "List-Unsubscribe" not in mail.headers
    assert mail.subject == "Reset your password"
    assert mail.text.startswith("Hello Ada,\n\n")


def test_password_reset_escapes_the_name_and_reads_hours() -> None:
    mail = render_password_reset("<b>Ada</b>\r\nX", "https://app.example.org/r", 120)
    assert "Hello &lt;b&gt;Ada&lt;/b&gt; X," in mail.html
    assert mail.text.startswith("Hello <b>Ada</b> X,")
    assert "expires in 2 hours" in mail.text


def test_password_reset_without_a_name() -> None:
    assert render_password_reset("", "https://app.example.org/r", 1).text.startswith("Hello,\n")


@pytest.mark.parametrize(("url", "minutes"), [("http://app.example.org/r", 30), ("https://a.org/r\nx", 30),
                                              ("https://app.example.org/r", 0), ("https://app.example.org/r", True)])
def test_password_reset_refuses_bad_arguments(url: str, minutes: int) -> None:
    with pytest.raises(ValueError):
        render_password_reset("Ada", url, minutes)


# --- unsubscribe tokens -------------------------------------------------------------------------------------

@pytest.fixture
def signer() -> UnsubscribeSigner:
    return UnsubscribeSigner(KEY)


def test_token_round_trips(signer: UnsubscribeSigner) -> None:
    # Given a token for a customer and a mailing
    token = signer.token("01JB2Z6Q3M8V5K7N9P4R2T6W8X", "01JC0MAILING0000000000000A")
    # Then it is URL-safe without padding, and reads back to the same ids
    assert token.replace("-", "").replace("_", "").isalnum() and "=" not in token
    assert signer.read(token) == ("01JB2Z6Q3M8V5K7N9P4R2T6W8X", "01JC0MAILING0000000000000A")
    # and it carries the purpose
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))[:-16])
    assert payload == {"p": "unsubscribe", "c": "01JB2Z6Q3M8V5K7N9P4R2T6W8X", "m": "01JC0MAILING0000000000000A"}


def test_every_edited_character_is_detected(signer: UnsubscribeSigner) -> None:
    # Given a valid token
    token = signer.token("C1", "M1")
    # When any one character is changed
    for i, ch in enumerate(token):
        edited = token[:i] + ("A" if ch != "A" else "B") + token[i + 1:]
        # Then it is refused
        with pytest.raises(BadToken):
            signer.read(edited)


def test_forged_payload_with_a_copied_tag_is_refused(signer: UnsubscribeSigner) -> None:
    raw = base64.urlsafe_b64decode(signer.token("C1", "M1") + "==")
    forged = b'{"p":"unsubscribe","c":"C2","m":"M1"}' + raw[-16:]
    with pytest.raises(BadToken):
        signer.read(base64.urlsafe_b64encode(forged).decode().rstrip("="))


@pytest.mark.parametrize("token", ["", "garbage", "%%%", "AAAA", "a b", "x" * 2000, "A===", "\u00e9t\u00e9"],
                         ids=repr)
def test_malformed_tokens_are_refused(signer: UnsubscribeSigner, token: str) -> None:
    with pytest.raises(BadToken) as caught:
        signer.read(token)
    assert isinstance(caught.value, BadRequest) and caught.value.fields[0]["field"] == "token"


def test_token_from_another_key_is_refused(signer: UnsubscribeSigner) -> None:
    other = UnsubscribeSigner(b"another-key-of-sufficient-length!!")
    with pytest.raises(BadToken):
        signer.read(other.token("C1", "M1"))


def test_value_signed_for_another_purpose_is_refused(signer: UnsubscribeSigner) -> None:
    # Given a value signed with the same key and scheme but another purpose (a cursor, say)
    payload = b'{"p":"cursor","c":"C1","m":"M1"}'
    tag = hmac.new(KEY, payload, hashlib.sha256).digest()[:16]
    # Then it is not an unsubscribe token
    with pytest.raises(BadToken):
        signer.read(base64.urlsafe_b64encode(payload + tag).decode().rstrip("="))


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        UnsubscribeSigner(b"short")


def test_urls_for_the_page_and_one_click(signer: UnsubscribeSigner) -> None:
    token = signer.token("C1", "M1")
    page, click = signer.urls("https://api.example.org/prod/", token)
    assert page == click == f"https://api.example.org/prod/public/unsubscribe?token={token}"
    # and they pass the renderer's header checks
    assert StaffTemplate("s", "b").render(ADA, page, click).headers["List-Unsubscribe"] == f"<{click}>"


@pytest.mark.parametrize("base", ["http://api.example.org", "https://api.example.org/?x=1", "ftp://a.org",
                                  "https://api.example.org/\r\n"])
def test_urls_refuse_an_unsafe_base(signer: UnsubscribeSigner, base: str) -> None:
    with pytest.raises(ValueError):
        signer.urls(base, "t")


def test_fan_out_batch_size() -> None:
    assert RECIPIENTS_PER_MESSAGE == 50
