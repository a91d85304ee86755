"""``crm``: the local stack's command line.

    crm serve [--host H] [--aws-port N] [--api-port N] [--no-demo] [--state DIR] [--fresh] [--no-state]
    crm reset-data [--state DIR]
    crm invoke FUNCTION [--event FILE|NAME] [--endpoint URL]
    crm import FILE [--dry-run] [--sheet NAME] [--api URL] [--user NAME] [--timeout SECONDS]
    crm outbox [--api URL] [--last N] [--json]
    crm reindex [--endpoint URL | --aws --table NAME] [--segment N --segments M]
    crm openapi
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crm_local.template import ROOT

DEFAULT_HOST = "127.0.0.1"
DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 3000
DEFAULT_ENDPOINT = f"http://{DEFAULT_HOST}:{DEFAULT_AWS_PORT}"
DEFAULT_API = f"http://{DEFAULT_HOST}:{DEFAULT_API_PORT}"
DEFAULT_STATE = ROOT / ".local-stack"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm", description="The customer workflow's local stack.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the AWS emulator and the API; runs until Ctrl-C")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--aws-port", type=int, default=DEFAULT_AWS_PORT)
    serve.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
    serve.add_argument("--no-demo", action="store_true",
                       help="start without the demo customers (they are loaded only into a new, empty state)")
    serve.add_argument("--state", type=Path, default=DEFAULT_STATE, metavar="DIR",
                       help=f"the folder the stack keeps its data in across restarts (default {_shown(DEFAULT_STATE)})")
    serve.add_argument("--fresh", action="store_true", help="delete the saved state first and start empty")
    serve.add_argument("--no-state", action="store_true", help="keep nothing: everything goes when it stops")

    reset = commands.add_parser("reset-data", help="delete the local stack's saved state (not while it runs)")
    reset.add_argument("--state", type=Path, default=DEFAULT_STATE, metavar="DIR",
                       help=f"the state folder (default {_shown(DEFAULT_STATE)})")

    invoke = commands.add_parser("invoke", help="run a function of template.yaml with a sample event")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. CustomersApiFunction")
    invoke.add_argument("--event", help="a file, or the name of a sample in events/FUNCTION/")
    invoke.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT),
                        help="the running local stack's AWS endpoint (default: $AWS_ENDPOINT_URL, else port 4566)")

    imports = commands.add_parser(
        "import", help="import a workbook through the running local stack (POST /imports, upload, follow the job)",
        description="Asks the running local stack's API for an import, uploads the workbook with the presigned "
                    "form it answers, and follows the job until it is finished. Prints the job as JSON; exits 0 "
                    "when it completed (or partly: see its errors), 1 when it failed or did not finish in time.")
    imports.add_argument("file", type=Path, help="the workbook (.xlsx)")
    imports.add_argument("--dry-run", action="store_true", help="check and report every row, write nothing")
    imports.add_argument("--sheet", help="the sheet to read (default: the first visible one)")
    imports.add_argument("--api", default=DEFAULT_API, help=f"the running local stack's API (default {DEFAULT_API})")
    imports.add_argument("--user", help="the staff user to import as (X-Dev-User; default: the API's local-staff)")
    imports.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                         help="how long to wait for the job to finish (default 3600: an hour)")

    outbox = commands.add_parser("outbox", help="show the emails SES sent on the running local stack")
    outbox.add_argument("--api", default=f"http://{DEFAULT_HOST}:{DEFAULT_API_PORT}", help="the local API's URL")
    outbox.add_argument("--last", type=int, default=10, help="how many of the newest to show (0: all)")
    outbox.add_argument("--json", action="store_true", help="print them as JSON")

    reindex = commands.add_parser(
        "reindex", help="build the search index of the customers already in a table (after an upgrade)",
        description="Writes every customer's search items and registration keys as the current table design "
                    "makes them, and removes the earlier design's TERM# items. Idempotent: stop it and run it "
                    "again at will; run segments in parallel with --segment/--segments.")
    reindex.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT),
                         help=f"the local stack's AWS endpoint (default {DEFAULT_ENDPOINT})")
    reindex.add_argument("--aws", action="store_true",
                         help="use the AWS account of this shell's credentials instead of the local stack")
    reindex.add_argument("--table", help="the customers table's name (required with --aws)")
    reindex.add_argument("--segment", type=int, default=0, help="this run's Scan segment (default 0)")
    reindex.add_argument("--segments", type=int, default=1, help="how many segments in all (default 1)")

    commands.add_parser("openapi", help="print the API's OpenAPI document")

    args = parser.parse_args(argv)
    if args.command == "serve":
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a log file sees each line
        code = serve_command(args.host, args.aws_port, args.api_port, demo=not args.no_demo,
                             state=None if args.no_state else args.state, fresh=args.fresh)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # nothing left behind: a function still running is not waited for
    if args.command == "reset-data":
        return reset_data_command(args.state)
    if args.command == "invoke":
        return invoke_command(args.function, args.event, args.endpoint)
    if args.command == "outbox":
        return outbox_command(args.api, args.last, args.json)
    if args.command == "reindex":
        if args.aws and not args.table:
            parser.error("reindex --aws needs --table")
        if not 0 <= args.segment < args.segments:
            parser.error("reindex: --segment must be at least 0 and less than --segments")
        return reindex_command(None if args.aws else args.endpoint, args.table, args.segment, args.segments)
    if args.command == "import":
        from crm_local.import_client import run_import

        return run_import(args.file, api=args.api, dry_run=args.dry_run, sheet=args.sheet, user=args.user,
                          timeout=args.timeout)
    return openapi_command()


class LocalStack:
    """The emulator, the resources of template.yaml, the saved state (when given a folder), and the API,
    started together."""

    def __init__(self, host: str = DEFAULT_HOST, aws_port: int = DEFAULT_AWS_PORT,
                 api_port: int = DEFAULT_API_PORT, state: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        import logging

        from crm_local import emulator
        from crm_local.api_server import LocalApi
        from crm_local.emulator_server import EmulatorServer
        from crm_local.iam import Guard
        from crm_local.poller import QueuePoller
        from crm_local.stack import Functions, create_resources, local_template, point_at
        from crm_local.state import Restored, SavedState

        say = progress or (lambda message: None)
        emulator.install()  # moto's DynamoDB at the cost of the items it holds
        self.template = local_template(f"http://{host}:{api_port}")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's per-request lines
        self.saved = SavedState(state) if state is not None else None
        self.restored: Restored | None = None
        saved_before = self.saved.open() if self.saved is not None else False  # checked before anything listens
        started: list[EmulatorServer] = []
        self._guard = contextlib.ExitStack()
        try:
            self.emulator = EmulatorServer(host, aws_port)
            self.emulator.start()
            started.append(self.emulator)
            self.aws_endpoint = self.emulator.url
            # moto keeps its state per process: start from an empty account even if this process ran one before
            urllib.request.urlopen(urllib.request.Request(f"{self.aws_endpoint}/moto-api/reset", method="POST"),
                                   timeout=10).close()
            point_at(self.aws_endpoint, self.template)
            say("making the tables, buckets and queues of template.yaml")
            self.resources = create_resources(self.template)
            if self.saved is not None:
                if saved_before:
                    say(f"restoring the saved state from {_shown(self.saved.folder)}")
                    self.restored = self.saved.restore(progress)
                self.saved.start()
            # each function may do locally only what its role in template.yaml lets it do in AWS
            self._guard.enter_context(Guard(self.template).installed())
            self.functions = Functions(self.template)
            self.api = LocalApi(self.functions, host, api_port)
            self.api.start()
        except BaseException:
            self._guard.close()
            if self.saved is not None:
                self.saved.close()
            for server in started:
                server.stop(wait=0)
            raise
        self.poller = QueuePoller(self.functions)  # queue-triggered functions get their messages
        self.poller.start()

    def load_demo(self) -> int:
        from crm_core.wiring import customer_service
        from crm_local.demo import load_demo

        return load_demo(customer_service())

    def stop(self) -> float:
        """Stop taking work, let the emulator finish what it is answering, save the state; the seconds the
        final save took (0 without a state folder). Functions still running are left to the process's end."""
        self.poller.stop()
        self.api.stop()
        self.emulator.stop()
        self._guard.close()
        saving = 0.0
        if self.saved is not None:
            saving = self.saved.stop()
            self.saved.close()
        return saving


def serve_command(host: str, aws_port: int, api_port: int, demo: bool, state: Path | None,
                  fresh: bool = False) -> int:
    from crm_local.state import StateError, folder_size, remove

    def say(message: str) -> None:
        print(f"crm serve: {message}", flush=True)

    stopping = threading.Event()
    up = threading.Event()

    def on_signal(number: int, frame: Any) -> None:
        if not up.is_set():
            print("\ncrm serve: stopped while starting; the saved state is as it was.", flush=True)
            os._exit(130)
        if stopping.is_set():
            print("\ncrm serve: stopped at once; the state is as of the last save (at most a few seconds old).",
                  flush=True)
            os._exit(130)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    say(f"starting the local stack (state: {_shown(state) if state else 'not kept'})")
    try:
        if fresh and state is not None and remove(state):
            say(f"--fresh: deleted the saved state in {_shown(state)}")
        started = time.monotonic()
        stack = LocalStack(host, aws_port, api_port, state=state, progress=say)
    except OSError as exc:
        print(f"crm serve: cannot listen on {host}:{aws_port}/{api_port}: {exc.strerror}. "
              "Is another local stack running? Use --aws-port/--api-port.", file=sys.stderr)
        return 1
    except StateError as exc:
        print(f"crm serve: {exc}", file=sys.stderr)
        return 1
    restored = stack.restored
    loaded = stack.load_demo() if demo and restored is None else 0
    api = stack.api.url
    endpoint = "" if stack.aws_endpoint == DEFAULT_ENDPOINT else f" --endpoint {stack.aws_endpoint}"
    api_flag = "" if api == DEFAULT_API else f" --api {api}"
    if state is None:
        kept = "not kept: everything goes when it stops"
    elif restored is not None:
        kept = f"{_shown(state)}  (restored {restored.summary()} in {restored.seconds:.1f} s)"
    else:
        kept = f"{_shown(state)}  (new; `crm serve --fresh` or `make reset-data` empties it)"
    demo_line = f"{loaded} loaded" if loaded else ("kept from the saved state" if restored else "none (--no-demo)")
    print(f"""
Local stack is up in {time.monotonic() - started:.1f} s (no AWS account, no Docker).

  Staff console   {api}/console/    (local: a picker chooses which staff user to act as)
  API             {api}            (staff routes run as 'local-staff'; X-Dev-User / X-Dev-Groups to change)
  OpenAPI         {api}/openapi.json
  Swagger UI      {api}/docs
  AWS emulator    {stack.aws_endpoint}           (moto: {", ".join(stack.resources)})
  State           {kept}
  Demo customers  {demo_line}

Try:
  curl -s '{api}/customers?q=lovelace'
  curl -s -X POST {api}/customers -H 'Content-Type: application/json' \\
       -d '{{"type":"individual","first_name":"Edith","last_name":"Clarke","email":"edith@example.org"}}'
  .venv/bin/crm invoke CustomersApiFunction --event search{endpoint}
  .venv/bin/crm import samples/customers.xlsx --dry-run{api_flag}

Ctrl-C stops it (the state is saved); a second Ctrl-C stops it at once.
""", flush=True)
    for message in (restored.skipped if restored else []):
        say(f"not restored: {message}")
    for table in stack.saved.unkept() if stack.saved is not None else []:
        say(f"table {table} has no sort key: its items are not kept across restarts")
    up.set()
    while not stopping.wait(0.2):
        pass
    asked = time.monotonic()
    say("stopping (Ctrl-C again to stop at once)")
    stack.stop()
    took = time.monotonic() - asked
    if state is not None:
        say(f"stopped in {took:.1f} s; state saved in {_shown(state)} ({folder_size(state) / 1e6:.1f} MB)")
    else:
        say(f"stopped in {took:.1f} s")
    return 0


def reset_data_command(state: Path) -> int:
    from crm_local.state import StateError, remove

    try:
        gone = remove(state)
    except StateError as exc:
        print(f"crm reset-data: {exc}", file=sys.stderr)
        return 1
    print(f"crm reset-data: {'deleted the saved state in' if gone else 'no saved state in'} {_shown(state)}")
    return 0


def _shown(path: Path) -> str:
    """A folder as the user would type it: relative to here when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd())) + "/"
    return str(path)


def invoke_command(function: str, event_name: str | None, endpoint: str) -> int:
    from botocore.exceptions import EndpointConnectionError

    from crm_local.events import load_event
    from crm_local.stack import Functions, local_template, point_at

    template = local_template()
    point_at(endpoint, template)
    functions = Functions(template)
    not_running = (f"crm invoke: no local stack answers at {endpoint}; start one with `make run` "
                   "(or point --endpoint at the one that is running)")
    try:
        # what the function prints (its logs, its metrics) goes to stderr, as to CloudWatch; stdout is the answer
        # (its module is imported inside too: Powertools' logger keeps the stdout it finds then)
        with contextlib.redirect_stdout(sys.stderr):
            functions.handler(function)  # an unknown function is named before its samples or the stack
            event = load_event(function, event_name)
            if not _listening(endpoint):
                print(not_running, file=sys.stderr)
                return 1
            result: Any = functions.invoke(function, event)
    except (KeyError, FileNotFoundError) as exc:
        print(f"crm invoke: {exc.args[0]}", file=sys.stderr)
        return 2
    except EndpointConnectionError:
        print(not_running, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def _listening(endpoint: str) -> bool:
    """Whether something accepts connections at the endpoint's host and port."""
    parts = urllib.parse.urlsplit(endpoint)
    try:
        socket.create_connection((parts.hostname or DEFAULT_HOST, parts.port or 80), timeout=2).close()
    except OSError:
        return False
    return True


def reindex_command(endpoint: str | None, table: str | None, segment: int, segments: int) -> int:
    import boto3

    from crm_core.dal.customers import CustomerRepository
    from crm_core.dal.reindex import TableScan
    from crm_core.services.reindex import SearchReindex

    if endpoint:
        from crm_local.stack import local_template, point_at

        template = local_template()
        point_at(endpoint, template)
        table = table or template.physical_name("CustomersTable")
    if not table:
        print("crm reindex: name the customers table with --table", file=sys.stderr)
        return 2
    ddb = boto3.client("dynamodb")
    reindex = SearchReindex(CustomerRepository(ddb, table), TableScan(ddb, table))
    progress = reindex.run_page(segment, segments)
    while progress.resume:
        print(f"crm reindex: {progress.customers:,} customers so far", file=sys.stderr, flush=True)
        progress = reindex.run_page(segment, segments, progress.resume, progress)
    print(f"crm reindex: {table} segment {segment + 1} of {segments}: {progress.customers:,} customers indexed, "
          f"{progress.moved_on:,} changed meanwhile (their change indexed them), "
          f"{progress.legacy_removed:,} earlier search items removed, "
          f"{progress.stale_removed:,} search items no customer makes removed or made right")
    return 0


def outbox_command(api: str, last: int, as_json: bool) -> int:
    try:
        with urllib.request.urlopen(f"{api.rstrip('/')}/_local/outbox", timeout=10) as answer:
            emails: list[dict[str, Any]] = json.loads(answer.read())
    except OSError as exc:
        print(f"crm outbox: no local stack answers at {api} ({exc}); start it with `make run`", file=sys.stderr)
        return 1
    shown = emails[-last:] if last else emails
    if as_json:
        print(json.dumps(shown, indent=2))
        return 0
    if not shown:
        print("(no email sent yet)")
    for mail in shown:
        print(f"To:      {mail['to']}\nSubject: {mail['subject']}")
        for name, value in mail.get("headers", {}).items():
            print(f"{name}: {value}")
        print(f"HTML:    {api.rstrip('/')}{mail['html_url']}\n\n{mail['text'].strip()}\n{'-' * 72}")
    return 0


def openapi_command() -> int:
    from crm_local.api_server import openapi_document
    from crm_local.stack import Functions, local_template, point_at

    template = local_template()
    point_at("http://127.0.0.1:4566", template)
    print(json.dumps(openapi_document(Functions(template)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
