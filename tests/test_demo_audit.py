"""Issue 17: `ssm-tui --demo` has the seeded month, so audit search finds a `sudo` on a first run.

The month is seeded behind the first frame (`ssm_tui/demo_seed.py`): the demo says so in a
notification, and the app's audit search (`A`) then finds the seeded transcripts' `sudo` lines.
"""

from __future__ import annotations

import re

import pexpect
import pytest

from tests.app_in_pty import spawn_app


@pytest.mark.slow
def test_the_demos_audit_search_finds_a_seeded_sudo() -> None:
    child = spawn_app("--demo", timeout=90)
    try:
        child.expect("up to date")  # the fleet's first refresh: the app is up
        child.expect("seeded")  # the month's sessions are in the sandbox
        child.send("A")
        child.expect("Search transcripts")
        child.send("sudo\r")
        child.expect(r"(\d+) hit\(s\) in (\d+) session\(s\)")
        hits, sessions = (int(n) for n in child.match.groups())
        assert hits > 0 and sessions > 0
        child.send("\x1b")  # back to the fleet
        child.send("\x11")  # ctrl+q
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert re.search(r"Traceback", child.before or "") is None
