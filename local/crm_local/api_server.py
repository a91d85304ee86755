"""The API on loopback: each HTTP request becomes an API Gateway proxy event for the function that the
template routes it to; the OpenAPI document and a Swagger UI are served beside it."""

from __future__ import annotations

import base64
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crm_local.console import console_answer, is_console
from crm_local.events import LOCAL_STAFF_USER, api_event, dev_groups
from crm_local.stack import Functions
from crm_local.template import Route

DOCS_PATHS = ("/openapi.json", "/docs")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = [(route, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$"))
                        for route in routes]

    def _candidates(self, path: str) -> list[tuple[Route, dict[str, str]]]:
        """The routes whose path matches, as API Gateway picks its resource: a path written out beats one with
        parameters (``/customers/assign`` is never ``/customers/{customer_id}``)."""
        found = [(route, m.groupdict()) for route, pattern in self._routes if (m := pattern.match(path))]
        static = [(route, params) for route, params in found if not params]
        return static or found

    def methods(self, path: str) -> list[str]:
        """The methods routed for a path (for a 405's ``Allow``)."""
        return sorted({route.method for route, _ in self._candidates(path)})

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | str | None:
        """The route and its path parameters; ``"method"`` when the path exists for other methods only."""
        candidates = self._candidates(path)
        chosen = next(((route, params) for route, params in candidates if route.method == method), None)
        return chosen or ("method" if candidates else None)


def openapi_document(functions: Functions) -> dict[str, Any]:
    """The OpenAPI of every API function's resolver, merged into one document."""
    merged: dict[str, Any] = {}
    for logical_id in sorted(functions.definitions):
        function = functions.definitions[logical_id]
        if not any(e["Type"] == "Api" for e in function.events.values()):
            continue
        functions.handler(logical_id)
        module = __import__(function.module)
        schema = json.loads(module.app.get_openapi_json_schema(title="Customer workflow API", version="1.0.0"))
        if not merged:
            merged = schema
            continue
        merged["paths"].update(schema.get("paths", {}))
        merged.setdefault("components", {}).setdefault("schemas", {}).update(
            schema.get("components", {}).get("schemas", {}))
    return merged


def swagger_page(document: dict[str, Any]) -> str:
    """Swagger UI over the document, its script and styles served from Powertools' copy (works offline)."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    spec = json.dumps(document).replace("</", "<\\/")
    return generate_swagger_html(spec, "/docs/swagger-ui-bundle.min.js", "/docs/swagger-ui.min.css", "/docs", None)


class LocalApi:
    def __init__(self, functions: Functions, host: str, port: int) -> None:
        self.functions = functions
        self.router = Router(functions.template.routes())
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                api.serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):  # any other method: 405 with Allow, as for a route's unrouted method
                    return self._serve
                raise AttributeError(name)

        return Handler

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        method = request.command.upper()
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if method == "GET" and (parts.path in DOCS_PATHS or parts.path.startswith("/docs/")):
            self._docs(request, parts.path)
            return
        if method == "GET" and is_console(parts.path):
            _write(request, *console_answer(parts.path))
            return
        if method == "GET" and (parts.path.startswith("/_local/outbox") or parts.path == "/reset-password"):
            self._local_pages(request, parts.path)
            return
        found = self.router.match(method, parts.path)
        if found is None or found == "method":
            status = HTTPStatus.NOT_FOUND if found is None else HTTPStatus.METHOD_NOT_ALLOWED
            message = "no such route" if found is None else f"{method} is not allowed on {parts.path}"
            code = "not_found" if found is None else "method_not_allowed"
            body = {"error": {"code": code, "message": message, "fields": []}}
            allow = {"Allow": ", ".join(self.router.methods(parts.path))} if found == "method" else {}
            _write(request, status, {"Content-Type": "application/json", **allow}, json.dumps(body).encode())
            return
        assert not isinstance(found, str)
        route, path_parameters = found
        headers = {k: v for k, v in request.headers.items()}
        user = None if route.public else request.headers.get("X-Dev-User", LOCAL_STAFF_USER)
        event = api_event(method, parts.path, resource=route.path, path_parameters=path_parameters,
                          query=parse_qs(parts.query, keep_blank_values=True),
                          body=raw.decode("utf-8", "replace") if raw else None, headers=headers, user=user,
                          groups=dev_groups(user or "", request.headers.get("X-Dev-Groups")),
                          source_ip=request.client_address[0])
        result = self.functions.invoke(route.function, event)
        response_headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[name] = ", ".join(values)
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        _write(request, int(result.get("statusCode", 200)), response_headers, data)

    def _docs(self, request: BaseHTTPRequestHandler, path: str) -> None:
        if path == "/openapi.json":
            body = json.dumps(openapi_document(self.functions), indent=2).encode()
            _write(request, 200, {"Content-Type": "application/json"}, body)
        elif path == "/docs":
            page = swagger_page(openapi_document(self.functions))
            _write(request, 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode())
        else:
            from aws_lambda_powertools.event_handler.openapi import swagger_ui

            asset = Path(swagger_ui.__file__).parent / Path(path).name
            kinds = {".js": "text/javascript", ".css": "text/css"}
            if asset.suffix in kinds and asset.is_file():
                _write(request, 200, {"Content-Type": kinds[asset.suffix]}, asset.read_bytes())
            else:
                _write(request, 404, {"Content-Type": "text/plain"}, b"not found")


    def _local_pages(self, request: BaseHTTPRequestHandler, path: str) -> None:
        """Local-only pages: the emails SES "sent" (``crm outbox`` reads them), and a stand-in for the
        organisation's reset-password page that the reset email links to."""
        from crm_local.outbox import sent_emails

        if path == "/reset-password":
            _write(request, 200, {"Content-Type": "text/html; charset=utf-8"}, RESET_PAGE.encode())
            return
        emails = sent_emails()
        if path in ("/_local/outbox", "/_local/outbox/"):
            listed = [{k: v for k, v in e.items() if k != "html"} | {"html_url": f"/_local/outbox/{n}.html"}
                      for n, e in enumerate(emails)]
            _write(request, 200, {"Content-Type": "application/json"}, json.dumps(listed, indent=2).encode())
            return
        name = path.rsplit("/", 1)[-1].removesuffix(".html")
        if name.isdigit() and int(name) < len(emails):
            _write(request, 200, {"Content-Type": "text/html; charset=utf-8"}, emails[int(name)]["html"].encode())
        else:
            _write(request, 404, {"Content-Type": "text/plain"}, b"no such email")


RESET_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Choose a new password</title></head>
<body style="font-family:sans-serif;max-width:30em;margin:3em auto">
<h1>Choose a new password</h1>
<p>(The local stack's stand-in for the organisation's page; it posts to POST /public/password-reset/confirm.)</p>
<form id="f"><label>New password <input id="p" type="password" minlength="12" required></label>
<button>Set password</button></form><p id="out" role="status"></p>
<script>
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const token = new URLSearchParams(location.search).get("token");
  const r = await fetch("/public/password-reset/confirm", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({token: token, new_password: document.getElementById("p").value})});
  const body = await r.json();
  document.getElementById("out").textContent = body.message || body.error.message;
};
</script></body></html>
"""


def _write(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    request.send_response(status)
    for name, value in headers.items():
        if name.lower() not in ("content-length", "connection", "transfer-encoding"):
            request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
