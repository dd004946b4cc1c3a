"""What runs before the first frame, in a fresh interpreter started as `ssm-tui` starts.

The first frame's budget (`benchmarks/app.py`: ≤ 1.2× a bare Textual app) holds only if the
start never waits for botocore and reads only the cached rows it draws. This test keeps those
two rules from quietly breaking; the benchmark measures the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ssm_tui.aws.models import Instance, Scope, ScopeResult
from ssm_tui.ui.fleet_model import cache_widths
from ssm_tui.ui.services import Services

ROOT = Path(__file__).resolve().parent.parent.parent

FIRST_FRAME = """
import json, sys, threading, argparse
from textual.app import App

_display = App._display

def first_display(self, screen, renderable):
    _display(self, screen, renderable)
    from ssm_tui.ui.widgets.fleet_view import FleetView
    views = self.screen.query(FleetView)
    if renderable is None or getattr(self, "_seen", False) or not views:
        return
    fleet = views.first()
    if not fleet.table.row_count:
        return
    self._seen = True
    print(json.dumps({
        "aws_sdk": sorted(m for m in sys.modules if m.split(".")[0] in ("botocore", "aiobotocore")),
        "threads": [t.name for t in threading.enumerate()],
        "pending": fleet._cache_pending,
        "rows_read": len(fleet.model.rows),
        "rows_drawn": fleet.table.row_count,
        "status": str(fleet.query_one("#fleet-status").render()),
    }), flush=True)
    self.exit()

App._display = first_display
from ssm_tui.commands.app import build_app
build_app(argparse.Namespace(theme=None)).run(headless=True, size=(120, 30))
"""


def test_the_first_frame_reads_only_its_rows_and_never_loads_botocore(tmp_path):
    home = Path(os.environ["HOME"])
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "config").write_text(
        "[profile a]\nregion = us-east-1\n[profile b]\nregion = eu-west-1\n"
    )
    now = datetime.now(UTC)
    services = Services(cache_widths=cache_widths)  # as the app's services save a refresh
    for profile in ("a", "b"):
        region = "us-east-1" if profile == "a" else "eu-west-1"
        instances = tuple(
            Instance(profile, "123456789012", region, f"i-{profile}{n:04d}", f"node-{n}",
                     "Online" if n % 2 else "Inactive", last_ping=now - timedelta(minutes=n))
            for n in range(400)
        )  # fmt: skip
        services.save(ScopeResult(Scope(profile, region), instances))
    services.flush()

    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    frame = json.loads(out.stdout.strip().splitlines()[0])
    assert frame["aws_sdk"] == []  # the config is read behind the first frame
    assert frame["threads"] == ["MainThread"]
    assert frame["pending"]  # the rest of the cache is read after this frame
    assert frame["rows_drawn"] == frame["rows_read"] < 100  # of 800 cached
    assert frame["status"].startswith("400 shown of 800 (400 online)")
