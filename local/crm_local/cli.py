"""``crm``: the local stack's command line.

    crm serve [--host H] [--aws-port N] [--api-port N] [--no-demo]
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
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 3000
DEFAULT_ENDPOINT = f"http://{DEFAULT_HOST}:{DEFAULT_AWS_PORT}"
DEFAULT_API = f"http://{DEFAULT_HOST}:{DEFAULT_API_PORT}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm", description="The customer workflow's local stack.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the AWS emulator and the API; runs until Ctrl-C")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--aws-port", type=int, default=DEFAULT_AWS_PORT)
    serve.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
    serve.add_argument("--no-demo", action="store_true", help="start without the demo customers")

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
    imports.add_argument("--timeout", type=float, default=600, metavar="SECONDS",
                         help="how long to wait for the job to finish (default 600)")

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
        return serve_command(args.host, args.aws_port, args.api_port, demo=not args.no_demo)
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
    """The emulator, the resources of template.yaml, and the API, started together."""

    def __init__(self, host: str = DEFAULT_HOST, aws_port: int = DEFAULT_AWS_PORT,
                 api_port: int = DEFAULT_API_PORT) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        from crm_local import emulator
        from crm_local.api_server import LocalApi
        from crm_local.iam import Guard
        from crm_local.poller import QueuePoller
        from crm_local.stack import Functions, create_resources, local_template, point_at

        emulator.install()  # moto's DynamoDB at the cost of the items it holds
        self.template = local_template(f"http://{host}:{api_port}")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's per-request lines
        self.emulator = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
        self.emulator.start()
        self.aws_endpoint = f"http://{host}:{aws_port}"
        # moto keeps its state per process: start from an empty account even if this process ran one before
        urllib.request.urlopen(urllib.request.Request(f"{self.aws_endpoint}/moto-api/reset", method="POST"),
                               timeout=10).close()
        point_at(self.aws_endpoint, self.template)
        self.resources = create_resources(self.template)
        # each function may do locally only what its role in template.yaml lets it do in AWS
        self._guard = contextlib.ExitStack()
        self._guard.enter_context(Guard(self.template).installed())
        self.functions = Functions(self.template)
        self.api = LocalApi(self.functions, host, api_port)
        self.api.start()
        self.poller = QueuePoller(self.functions)  # queue-triggered functions get their messages
        self.poller.start()

    def load_demo(self) -> int:
        from crm_core.wiring import customer_service
        from crm_local.demo import load_demo

        return load_demo(customer_service())

    def stop(self) -> None:
        self.poller.stop()
        self.api.stop()
        self.emulator.stop()
        self._guard.close()


def serve_command(host: str, aws_port: int, api_port: int, demo: bool) -> int:
    try:
        stack = LocalStack(host, aws_port, api_port)
    except OSError as exc:
        print(f"crm serve: cannot listen on {host}:{aws_port}/{api_port}: {exc.strerror}. "
              "Is another local stack running? Use --aws-port/--api-port.", file=sys.stderr)
        return 1
    loaded = stack.load_demo() if demo else 0
    api = stack.api.url
    endpoint = "" if stack.aws_endpoint == DEFAULT_ENDPOINT else f" --endpoint {stack.aws_endpoint}"
    api_flag = "" if api == DEFAULT_API else f" --api {api}"
    print(f"""
Local stack is up (no AWS account, no Docker).

  Staff console   {api}/console/    (local: a picker chooses which staff user to act as)
  API             {api}            (staff routes run as 'local-staff'; X-Dev-User / X-Dev-Groups to change)
  OpenAPI         {api}/openapi.json
  Swagger UI      {api}/docs
  AWS emulator    {stack.aws_endpoint}           (moto: {", ".join(stack.resources)})
  Demo customers  {loaded}

Try:
  curl -s '{api}/customers?q=lovelace'
  curl -s -X POST {api}/customers -H 'Content-Type: application/json' \\
       -d '{{"type":"individual","first_name":"Edith","last_name":"Clarke","email":"edith@example.org"}}'
  .venv/bin/crm invoke CustomersApiFunction --event search{endpoint}
  .venv/bin/crm import customers.xlsx --dry-run{api_flag}

Ctrl-C stops it.
""", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    stack.stop()
    print("Local stack stopped.")
    return 0


def invoke_command(function: str, event_name: str | None, endpoint: str) -> int:
    from crm_local.events import load_event
    from crm_local.stack import Functions, local_template, point_at

    template = local_template()
    point_at(endpoint, template)
    functions = Functions(template)
    try:
        event = load_event(function, event_name)
        # what the function prints (its logs, its metrics) goes to stderr, as to CloudWatch; stdout is the answer
        with contextlib.redirect_stdout(sys.stderr):
            result: Any = functions.invoke(function, event)
    except (KeyError, FileNotFoundError) as exc:
        print(f"crm invoke: {exc.args[0]}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0


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
