"""Rendering email: staff-written mass mail (compiled once, rendered per recipient) and account mail.

Staff-written mass mail (``StaffTemplate``)
    Staff write a subject and a plain-text body (not HTML). Placeholders are ``{{ first_name }}`` style
    jinja2 expressions, or the source system's ``"First Name"`` / ``"Last Name"`` written between straight
    or curly double quotes (any case), which become ``{{ first_name }}`` / ``{{ last_name }}`` before
    compiling. Both are compiled once, in jinja2's ``ImmutableSandboxedEnvironment``, after their syntax
    tree is checked against what staff may use:

    - the variables in ``ALLOWED_VARIABLES`` only; an unknown name (a typo such as ``{{ frist_name }}``) is
      refused when the template is saved, naming the field, the placeholder and its line, rather than
      quietly rendering empty in 100,000 emails;
    - text, ``{{ … }}`` output, the filters in ``ALLOWED_FILTERS`` with constant arguments
      (``{{ first_name | default("Customer") }}``), ``{% if %}`` / ``{% elif %}`` / ``{% else %}``,
      ``… if … else …``, ``and`` / ``or`` / ``not``, comparisons, ``~`` and the tests ``defined`` /
      ``undefined`` / ``none``;
    - nothing else: attribute or item access (``{{ ''.__class__ }}``), calls, loops, ``set``, macros,
      blocks, includes and imports are refused at compile time (the sandbox stays as a second wall).

    Placeholders are text, so comparisons are ``==`` and ``!=`` only (``first_name < 5`` would fail for every
    recipient). Brackets nested deeper than ``MAX_NESTING`` are refused before parsing. Once it passes those
    checks, a template is rendered for sample recipients — each placeholder it uses given or missing, in every
    combination — and any failure refuses it then, naming the field: what is saved renders for everyone.

    A ``{% … %}`` tag alone on its line takes that line with it (no blank line left where an ``{% if %}``
    stood); one ending a line of text keeps the line break.

    A variable the recipient lacks (missing, ``None`` or empty) is undefined and renders empty, so
    ``default`` and ``{% if first_name %}`` work. ``name`` is the recipient's ``name`` if given, else first
    and last name, else the organisation name.

    Every recipient value is made one line before use: control characters and line breaks (CR, LF,
    U+2028, …) become a space and runs of white space one space. The subject source must itself be one
    line, and the rendered subject goes through the same cleaning and is cut at 998 characters. So no
    recipient can produce a multi-line ``Subject`` header: a stray CR/LF in a name is stripped, not refused
    (one bad record must not stop a mailing, and the name still reads well), see ``HeaderRefused`` for what
    is refused.

    The HTML part is made from the rendered text: all of it, the staff's words and the recipient's data
    alike, is HTML-escaped, blank-line-separated paragraphs become ``<p>`` and single line breaks ``<br>``,
    inside the shared layout with the unsubscribe link in its footer (``templates/mass.html``). Escaping
    the whole text is stricter than autoescaping the values: no staff text or data can become markup, and
    there is no ``|safe`` to reach for. The text part is the rendered text and a footer with the
    unsubscribe URL (``templates/mass.txt``). Headers: ``List-Unsubscribe: <one-click URL>`` (plus a
    ``mailto`` if given) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).

Account mail (``render_password_reset``)
    Our own templates in ``templates/``, autoescaped for ``.html``; no unsubscribe headers.

Speed: one sandbox and one file environment per process, each template compiled once; a render is two
sandbox renders (subject, body) and two layout renders, no environment or template creation
(see ``bench/mail_render.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    nodes,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from crm_core.errors import TemplateRefused
from crm_core.mail import RECIPIENTS_PER_MESSAGE

if TYPE_CHECKING:
    from crm_core.models.customer import Customer

__all__ = [
    "ALLOWED_FILTERS",
    "ALLOWED_VARIABLES",
    "BODY_MAX_SOURCE",
    "RECIPIENTS_PER_MESSAGE",
    "SUBJECT_MAX_CHARS",
    "SUBJECT_MAX_SOURCE",
    "HeaderRefused",
    "Rendered",
    "StaffTemplate",
    "TemplateRefused",
    "placeholders",
    "recipient_of",
    "render_password_reset",
]

SUBJECT_MAX_SOURCE = 200
BODY_MAX_SOURCE = 50_000
SUBJECT_MAX_CHARS = 998  # RFC 5322's line limit
ALLOWED_VARIABLES = ("first_name", "last_name", "name", "organization_name", "customer_number", "email")
ALLOWED_FILTERS = frozenset({"default", "d", "upper", "lower", "title", "capitalize", "trim"})
ALLOWED_TESTS = frozenset({"defined", "undefined", "none"})
TEMPLATES = Path(__file__).resolve().parent / "templates"

_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter,
                  nodes.Test, nodes.If, nodes.CondExpr, nodes.Not, nodes.And, nodes.Or, nodes.Compare,
                  nodes.Operand, nodes.Concat)
_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Getattr: "attribute access (.name)", nodes.Getitem: "item access ([...])",
    nodes.Call: "function or method calls", nodes.For: "loops", nodes.Macro: "macros",
    nodes.CallBlock: "macros", nodes.Assign: "set", nodes.AssignBlock: "set", nodes.Block: "blocks",
    nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "import",
    nodes.FilterBlock: "filter blocks", nodes.With: "with", nodes.Scope: "with",
}
_HELP = ("placeholders are {{ first_name }}-style variables, simple filters such as | default(\"...\") "
         "or | upper, and {% if %} ... {% endif %}")

# "First Name" / “First Name” / "last name" ... between straight or curly double quotes
_QUOTED = re.compile(r"[\"\u201c\u201d\u201e][ \t]*(first|last)[ \t_]*name[ \t]*[\"\u201c\u201d]", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BREAKS = re.compile(r"\r\n?|[\v\f\x85\u2028\u2029]")
_STRAY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_TAGS_ONLY = re.compile(r"[ \t]*(?:\{%(?:(?!%\}).)*%\}[ \t]*)+")
_LAST_TAG_END = re.compile(r"(?<![-+])%\}([ \t]*)$")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029<>\"\\]")
_MAILTO = re.compile(r"^[^\x00-\x20\x7f-\x9f\u2028\u2029<>\"\\,@]+@[A-Za-z0-9.-]+"
                     r"(?:\?[^\x00-\x20\x7f-\x9f\u2028\u2029<>\"\\,]*)?$")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_BRACKETS = re.compile(r"[()\[\]{}]")
MAX_NESTING = 20
SAMPLE_VALUES = {"first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace",
                 "organization_name": "Analytical Engines Ltd", "customer_number": "100042",
                 "email": "ada@example.org"}
_P_OPEN = '<p style="margin:0 0 16px 0;">'
_P_CLOSE = "</p>"
_P_BETWEEN = f"{_P_CLOSE}\n{_P_OPEN}"


class HeaderRefused(ValueError):
    """A value our code puts in a header or link is unsafe (an unsubscribe URL or mailto that is not
    https, or holds spaces, line breaks, quotes or angle brackets). Recipient data never raises this: it
    is cleaned to one line instead. This is a fault of the caller, not of the data."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"{header}: {reason}")
        self.header = header
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


@cache
def _sandbox() -> ImmutableSandboxedEnvironment:
    """The one environment of staff templates. No autoescape: they render text, and the HTML part escapes
    that text whole (see the module's docs)."""
    return ImmutableSandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True, cache_size=0,
                                         auto_reload=False)


@cache
def _files() -> Environment:
    """Our own templates: trusted, autoescaped for .html, and strict about undefined variables."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(("html",), ("txt",), default_for_string=True, default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                       auto_reload=False)


@cache
def _file(name: str) -> Template:
    return _files().get_template(name)


def _one_line(value: str) -> str:
    """Control characters and line breaks to a space, white space runs to one space, trimmed."""
    return " ".join(_CONTROL.sub(" ", value).split())


def placeholders(source: str) -> str:
    """The source system's ``"First Name"`` / ``"Last Name"`` (straight or curly quotes, any case) as
    ``{{ first_name }}`` / ``{{ last_name }}``."""
    return _QUOTED.sub(lambda m: "{{ %s_name }}" % m.group(1).lower(), source)  # noqa: UP031


def _line_breaks(source: str) -> str:
    """Keep the line break after a ``{% … %}`` tag that ends a line of text (``… {% endif %}``) by marking it
    ``+%}``: ``trim_blocks`` should only swallow the line of a tag standing alone on its line."""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip().endswith("%}") and not _TAGS_ONLY.fullmatch(line):
            lines[i] = _LAST_TAG_END.sub(r"+%}\1", line)
    return "\n".join(lines)


def _describe(node: nodes.Node) -> str:
    for kind, words in _REFUSED_NODES.items():
        if isinstance(node, kind):
            return words
    return f"{type(node).__name__.lower()} expressions"


def _checked(field: str, tree: nodes.Template) -> frozenset[str]:
    """The allowed variables the template uses; ``TemplateRefused`` for anything beyond the allowed."""
    used: set[str] = set()
    unknown: dict[str, int] = {}
    for node in tree.find_all(nodes.Node):
        line = node.lineno
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateRefused(field, f"line {line}: {_describe(node)} are not allowed; {_HELP}", line)
        if isinstance(node, nodes.Name):
            if node.ctx != "load":
                raise TemplateRefused(field, f"line {line}: assignments are not allowed; {_HELP}", line)
            if node.name in ALLOWED_VARIABLES:
                used.add(node.name)
            else:
                unknown.setdefault(node.name, line)
        elif isinstance(node, nodes.Filter | nodes.Test):
            allowed, kind = (ALLOWED_FILTERS, "filter") if isinstance(node, nodes.Filter) else (ALLOWED_TESTS, "test")
            if node.name not in allowed:
                raise TemplateRefused(field, f"line {line}: the {kind} {node.name!r} is not allowed; use one of "
                                             f"{', '.join(sorted(allowed))}", line)
            if node.kwargs or node.dyn_args or node.dyn_kwargs or not all(
                    isinstance(arg, nodes.Const) for arg in node.args):
                raise TemplateRefused(field, f"line {line}: the {kind} {node.name!r} takes only plain values "
                                             "such as \"text\" or 10", line)
        elif isinstance(node, nodes.Operand) and node.op not in ("eq", "ne"):
            raise TemplateRefused(field, f"line {line}: only == and != compare; placeholders are text, so <, >, <=, "
                                         ">= and in are not allowed", line)
        elif isinstance(node, nodes.Const) and not isinstance(node.value, str | int | float | bool | None):
            raise TemplateRefused(field, f"line {line}: only text, numbers, true/false and none are allowed", line)
    if unknown:
        names = ", ".join(f"{{{{ {name} }}}} (line {line})" for name, line in unknown.items())
        first = min(unknown.values())
        raise TemplateRefused(field, f"unknown placeholder{'s' if len(unknown) > 1 else ''} {names}; the "
                                     f"placeholders are {', '.join(ALLOWED_VARIABLES)}", first)
    return frozenset(used)


def _nesting(field: str, source: str) -> None:
    """Brackets nested deeper than any placeholder needs are refused before the parser recurses into them."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(source):
        depth = depth + 1 if bracket in "([{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise TemplateRefused(field, f"nests brackets {deepest} deep; at most {MAX_NESTING} are allowed")


def _compile(field: str, source: str) -> tuple[Template, frozenset[str]]:
    env = _sandbox()
    _nesting(field, source)
    try:
        tree = env.parse(source)
        names = _checked(field, tree)
        return env.from_string(tree), names
    except TemplateSyntaxError as error:
        raise TemplateRefused(field, f"line {error.lineno}: {error.message}", error.lineno) from None
    except RecursionError:
        raise TemplateRefused(field, "nests too deeply to be read") from None


def _samples(names: frozenset[str]) -> list[dict[str, str | None]]:
    """Recipients for the check at saving: every placeholder used given or missing, in every combination (at
    most 2**6), so each branch of an ``if`` is rendered once."""
    used = sorted(names)
    return [{name: (SAMPLE_VALUES[name] if mask >> n & 1 else None) for n, name in enumerate(used)}
            for mask in range(2 ** len(used))]


def _renders(field: str, template: Template, names: frozenset[str]) -> None:
    for recipient in _samples(names):
        try:
            template.render(_context(recipient, names))
        except Exception as failure:  # noqa: BLE001 - any failure to render is the template's, told at saving
            raise TemplateRefused(field, f"cannot be rendered for every recipient: {failure}") from None


def _cap(field: str, source: str, limit: int) -> None:
    if len(source) > limit:
        raise TemplateRefused(field, f"is {len(source):,} characters; at most {limit:,} are allowed")


def _url(name: str, url: str) -> str:
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname or _UNSAFE_URL.search(url):
        raise HeaderRefused(name, "must be an https URL without spaces, line breaks, quotes or angle brackets")
    return url


def _display_name(recipient: Mapping[str, str | None]) -> str:
    person = f"{recipient.get('first_name') or ''} {recipient.get('last_name') or ''}".strip()
    return person or recipient.get("organization_name") or ""


def _context(recipient: Mapping[str, str | None], names: frozenset[str]) -> dict[str, str]:
    context: dict[str, str] = {}
    for key in names:
        value = recipient.get(key)
        if not value and key == "name":
            value = _display_name(recipient)
        if value:
            cleaned = _one_line(str(value))
            if cleaned:
                context[key] = cleaned
    return context


def _paragraphs(text: str) -> Markup:
    """Plain text as HTML: escaped, blank-line-separated paragraphs as ``<p>``, line breaks as ``<br>``."""
    parts = [part.replace("\n", "<br>\n") for part in _PARAGRAPH_BREAK.split(str(escape(text))) if part.strip()]
    if not parts:
        return Markup()
    # Safe: every part is the escaped text; only our own constant tags are added around it.
    return Markup(_P_OPEN + _P_BETWEEN.join(parts) + _P_CLOSE)  # noqa: S704


def recipient_of(customer: Customer) -> dict[str, str | None]:
    """The fields of a customer a staff template may use."""
    return {"first_name": customer.first_name, "last_name": customer.last_name, "name": customer.display_name,
            "organization_name": customer.organization_name, "customer_number": customer.customer_number,
            "email": customer.email}


class StaffTemplate:
    """A staff-written mass email, compiled once and rendered for each recipient.

    ``TemplateRefused`` (naming ``subject`` or ``body``) for a source over the cap (200 / 50,000
    characters), an empty one, a subject of more than one line, a syntax error (with its line), an unknown
    placeholder (with its line), or anything beyond placeholders, simple filters and conditionals."""

    __slots__ = ("_body", "_names", "_subject", "variables")

    def __init__(self, subject: str, body: str) -> None:
        _cap("subject", subject, SUBJECT_MAX_SOURCE)
        _cap("body", body, BODY_MAX_SOURCE)
        subject = subject.strip()
        if not subject:
            raise TemplateRefused("subject", "is empty")
        if _CONTROL.search(subject):
            raise TemplateRefused("subject", "must be one line, without tabs or control characters")
        body = _STRAY.sub("", _BREAKS.sub("\n", body))
        if not body.strip():
            raise TemplateRefused("body", "is empty")
        self._subject, subject_names = _compile("subject", placeholders(subject))
        self._body, body_names = _compile("body", _line_breaks(placeholders(body)))
        _renders("subject", self._subject, subject_names)
        _renders("body", self._body, body_names)
        self._names = subject_names | body_names
        self.variables: tuple[str, ...] = tuple(name for name in ALLOWED_VARIABLES if name in self._names)
        """The placeholders the template uses, in ``ALLOWED_VARIABLES`` order."""

    def render(self, recipient: Mapping[str, str | None], unsubscribe_url: str, one_click_url: str, *,
               mailto: str | None = None) -> Rendered:
        """The email for one recipient. ``unsubscribe_url`` is the footer link (a page that asks to confirm),
        ``one_click_url`` the RFC 8058 POST target named in ``List-Unsubscribe``; ``mailto`` (an address,
        optionally with ``?subject=…``) is added to that header when given. ``HeaderRefused`` if one of
        them is unsafe."""
        page = _url("unsubscribe_url", unsubscribe_url)
        unsubscribe = f"<{_url('List-Unsubscribe', one_click_url)}>"
        if mailto is not None:
            address = mailto.removeprefix("mailto:")
            if not _MAILTO.match(address):
                raise HeaderRefused("List-Unsubscribe", "mailto must be a plain address, optionally with ?subject=")
            unsubscribe += f", <mailto:{address}>"
        context = _context(recipient, self._names)
        subject = _one_line(self._subject.render(context))[:SUBJECT_MAX_CHARS].rstrip()
        text = self._body.render(context).strip("\n").rstrip()
        return Rendered(
            subject=subject,
            text=_file("mass.txt").render(body=text, unsubscribe_url=page),
            html=_file("mass.html").render(subject=subject, body=_paragraphs(text), unsubscribe_url=page),
            headers={"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )


def _duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def render_password_reset(name: str, reset_url: str, expires_minutes: int) -> Rendered:
    """The password-reset email: a button and the link itself, the expiry, and "if you did not ask, ignore
    this". Account mail: no unsubscribe headers. ``name`` may be empty (the greeting is then "Hello,")."""
    if isinstance(expires_minutes, bool) or not isinstance(expires_minutes, int) or expires_minutes < 1:
        raise ValueError("expires_minutes must be a positive whole number")
    try:
        url = _url("reset_url", reset_url)
    except HeaderRefused as refused:
        raise ValueError(str(refused)) from None
    values: dict[str, Any] = {"name": _one_line(name or ""), "reset_url": url, "expires": _duration(expires_minutes),
                              "subject": "Reset your password"}
    return Rendered(subject=values["subject"], text=_file("password_reset.txt").render(values),
                    html=_file("password_reset.html").render(values), headers={})
