"""``crm`` commands that need a running local stack say so in one line when none runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crm_local.template import ROOT
from e2e.conftest import free_port

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("command", [
    ["invoke", "CustomersApiFunction", "--event", "search", "--endpoint", "http://127.0.0.1:{port}"],
    ["outbox", "--api", "http://127.0.0.1:{port}"],
])
def test_a_command_without_a_running_stack_says_so_in_one_line(command: list[str]) -> None:
    port = free_port()  # nothing listens there
    done = subprocess.run([sys.executable, "-m", "crm_local.cli", *(a.format(port=port) for a in command)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "make run" in lines[0]
    assert done.stdout == ""
