"""`ssm-tui` with no subcommand: the TUI on the user's AWS config, or `--demo` on a sandbox.

`--demo` starts `SandboxProcess` (a local AWS on loopback), copies its environment into
`os.environ` before anything creates an AWS client, keeps the demo's cache and session record
inside the sandbox's folder (the user's real cache never sees sandbox instances), and stops the
sandbox on exit, also on SIGTERM/SIGHUP.

Textual is imported only inside `run()`: the CLI imports this module to build its parser.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the app's options (on the top-level parser)."""
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run against a built-in sandbox (a local AWS with a seeded fleet; no account needed)",
    )
    parser.add_argument("--theme", default=None, help="Textual theme name (default: ssm-dark)")
    parser.add_argument(
        "--demo-seed", type=int, default=None, help=argparse.SUPPRESS
    )  # a fixed world for screenshots


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    sandbox = None
    store = None
    if getattr(args, "demo", False):
        from ssm_tui.extras import sandbox_missing_message

        if (message := sandbox_missing_message()) is not None:
            print(message, file=sys.stderr)
            return 2
        # Until the app installs its own handlers, a SIGTERM/SIGHUP unwinds through `finally`.
        previous = {s: signal.signal(s, _raise_exit) for s in (signal.SIGTERM, signal.SIGHUP)}
        from ssm_tui.demo import SandboxProcess

        print("starting the sandbox…", file=sys.stderr, flush=True)
        sandbox = SandboxProcess(seed=getattr(args, "demo_seed", None))
        try:
            sandbox.start()
            os.environ.update(sandbox.env)
            store = _isolate_demo(sandbox)
        except BaseException:
            sandbox.stop()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    try:
        return _run_app(args, store)
    finally:
        if sandbox is not None:
            sandbox.stop()


def _isolate_demo(sandbox: object) -> object:
    """Keep the demo out of the user's files: its own HOME (SSO token), cache and record."""
    from pathlib import Path

    from ssm_tui.store import Store

    directory = Path(sandbox.directory)  # type: ignore[attr-defined]
    home = directory / "home"
    home.mkdir(exist_ok=True)
    os.environ["HOME"] = str(home)
    os.environ["SSM_TUI_CONFIG"] = str(directory / "ssm-tui.toml")
    # botocore takes its SSO token folder (~/.aws/sso/cache) from HOME when it is first imported,
    # and nothing before this point imports it (tests/test_demo_home.py guards that).
    sandbox.install_sso_token(home)  # type: ignore[attr-defined]
    return Store(directory / "demo.sqlite")


def build_app(args: argparse.Namespace, store: object = None) -> Any:
    """The app, built as `ssm-tui` builds it (benchmarks/app.py times exactly this path).

    No garbage collection from here to the first frame (see `ssm_tui.ui.startup`).
    """
    from ssm_tui.ui.startup import pause_gc

    pause_gc()
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.services import Services

    return SsmTuiApp(Services(store=store), theme=getattr(args, "theme", None))


def _run_app(args: argparse.Namespace, store: object) -> int:
    from ssm_tui.ui.app import end_leftovers
    from ssm_tui.ui.startup import resume_gc

    app = build_app(args, store)
    try:
        result = app.run()
    finally:
        resume_gc()
        end_leftovers(app)
    return int(result or 0)
