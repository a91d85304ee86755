"""moto's server on loopback, as the local stack runs it.

- A thread per request, daemon threads (none can keep the process alive), ``TCP_NODELAY`` on each
  connection (an answer's headers and body go out without waiting for an acknowledgement).
- Calls from this process (the functions the stack runs) skip the socket: a botocore ``before-send``
  handler hands each request for the emulator's address to the same WSGI application the port serves, as
  moto's own in-process mock does. Request parsing, dispatch and answers are the server's; only the
  loopback connection and its thread are saved, about a third of a small request's cost.
- ``stop()`` closes the port and the in-process door at once, then lets requests already inside finish
  (briefly): what is saved after it is what every answered request wrote.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError
from botocore.handlers import BUILTIN_HANDLERS

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
_servers: list[EmulatorServer] = []  # the running ones, for the in-process handler


class EmulatorServer:
    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class Handler(MotoRequestHandler):
            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        self._app = DomainDispatcherApplication(create_backend_app)
        self._busy = 0
        self._open = True
        self._idle = threading.Condition()
        self._server = make_server(host, port, self._counted, threaded=True, request_handler=Handler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]  # threaded=True: a ThreadingMixIn
        self._thread: threading.Thread | None = None
        self.url = f"http://{self._server.server_address[0]!s}:{self._server.server_address[1]}"

    def _counted(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        with self._idle:
            self._busy += 1
        try:
            return list(self._app(environ, start_response))  # the whole answer, made inside the count
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="local-aws-emulator", daemon=True)
        self._thread.start()
        _install_in_process_handler()
        _servers.append(self)

    def stop(self, wait: float = 1.0) -> int:
        """Close the port and the in-process door, then wait up to ``wait`` seconds for requests inside to
        finish; how many did not."""
        self._open = False
        self._server.shutdown()
        self._server.server_close()
        deadline = time.monotonic() + wait
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))
            busy = self._busy
        if self in _servers:
            _servers.remove(self)
        return busy

    def answer(self, request: AWSPreparedRequest) -> AWSResponse:
        """A botocore request for this emulator, answered by its WSGI application without a socket."""
        from moto.core.botocore_stubber import MockRawResponse
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        if not self._open:
            raise EndpointConnectionError(endpoint_url=self.url)
        parts = urlsplit(request.url)
        raw: Any = request.body
        body = raw.read() if hasattr(raw, "read") else raw or b""
        if isinstance(body, str):
            body = body.encode()
        headers = [(name, value.decode("latin-1") if isinstance(value, bytes) else str(value))
                   for name, value in request.headers.items()]
        environ = EnvironBuilder(method=request.method, path=parts.path, query_string=parts.query, headers=headers,
                                 data=body, base_url=self.url).get_environ()
        chunks, status, answer_headers = run_wsgi_app(self._counted, environ)
        found: Any = dict(answer_headers.items())  # botocore reads it as a mapping
        return AWSResponse(request.url, int(status.split(" ", 1)[0]), found, MockRawResponse(b"".join(chunks)))


def _in_process(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
    for server in list(_servers):
        if request.url.startswith(server.url + "/") or request.url == server.url:
            return server.answer(request)
    return None


def _install_in_process_handler() -> None:
    """Every botocore session made from now on sends this process's calls for a running emulator straight
    to it (the default session too, if it exists already)."""
    if ("before-send", _in_process) in BUILTIN_HANDLERS:
        return
    BUILTIN_HANDLERS.append(("before-send", _in_process))
    import boto3

    if boto3.DEFAULT_SESSION is not None:
        handler: Any = _in_process
        boto3.DEFAULT_SESSION.events.register("before-send", handler)
