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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssm_tui.demo import SandboxProcess
    from ssm_tui.store import Store


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
    parser.add_argument(
        "--demo-sso",
        choices=("valid", "expired", "absent"),
        default=None,
        help="the demo's SSO login (default valid): expired or absent to try L (SSO login)",
    )
    # The fleet to open on. Their own dests: `list --profile` (a subcommand's option of the same
    # name) would otherwise overwrite these with its default.
    parser.add_argument(
        "--profile",
        "-p",
        dest="app_profiles",
        action="append",
        metavar="P",
        help="open the fleet on this profile (repeatable; default: every profile)",
    )
    parser.add_argument(
        "--region",
        "-r",
        dest="app_regions",
        action="append",
        metavar="REGION",
        help="list these regions instead of each profile's own (repeatable, or comma separated)",
    )
    parser.add_argument(
        "--filter",
        "-f",
        dest="app_filter",
        metavar="TEXT",
        help="start with this text in the fleet's filter box",
    )


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _check_profiles(args: argparse.Namespace) -> str | None:
    """The error for a --profile no config defines (before any terminal is taken over)."""
    names = getattr(args, "app_profiles", None)
    if not names:
        return None
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.profiles import get_profile

    try:
        for name in names:
            get_profile(name)
    except SsmTuiError as exc:
        return str(exc)
    return None


def initial_scope(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(profiles, regions, filter text) the fleet opens on; empty means the default."""
    profiles = tuple(dict.fromkeys(getattr(args, "app_profiles", None) or ()))
    regions = tuple(
        dict.fromkeys(
            r.strip() for v in getattr(args, "app_regions", None) or () for r in v.split(",")
        )
    )
    return profiles, tuple(r for r in regions if r), getattr(args, "app_filter", None) or ""


def run(args: argparse.Namespace) -> int:
    sandbox = None
    store = None
    if not getattr(args, "demo", False):
        problem = _check_profiles(args)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    if getattr(args, "demo", False):
        from ssm_tui.extras import sandbox_missing_message

        if (message := sandbox_missing_message()) is not None:
            print(message, file=sys.stderr)
            return 2
        # Until the app installs its own handlers, a SIGTERM/SIGHUP unwinds through `finally`.
        previous = {s: signal.signal(s, _raise_exit) for s in (signal.SIGTERM, signal.SIGHUP)}
        from ssm_tui.demo import SandboxProcess

        print("starting the sandbox…", file=sys.stderr, flush=True)
        sandbox = SandboxProcess(
            seed=getattr(args, "demo_seed", None), sso_token=getattr(args, "demo_sso", None)
        )
        try:
            sandbox.start()
            sandbox.apply_environment(os.environ)  # the caller's AWS_* never reach the demo
            store = _isolate_demo(sandbox)
            problem = _check_profiles(args)
            if problem is not None:
                print(f"error: {problem}", file=sys.stderr)
                sandbox.stop()
                return 2
        except BaseException:
            sandbox.stop()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    try:
        return _run_app(args, store, sandbox)
    finally:
        if sandbox is not None:
            sandbox.stop()


def _isolate_demo(sandbox: SandboxProcess) -> Store:
    """Keep the demo out of the user's files: its own HOME (SSO token), cache and record."""
    from ssm_tui.store import Store

    assert sandbox.directory is not None  # set by start()
    directory = sandbox.directory
    home = directory / "home"
    home.mkdir(exist_ok=True)
    # what the user types as `~` (saving a transcript) is their real home, not this one
    os.environ.setdefault("SSM_TUI_USER_HOME", os.path.expanduser("~"))
    os.environ["HOME"] = str(home)
    os.environ["SSM_TUI_CONFIG"] = str(directory / "ssm-tui.toml")
    # botocore takes its SSO token folder (~/.aws/sso/cache) from HOME when it is first imported,
    # and nothing before this point imports it (tests/test_demo_home.py guards that).
    sandbox.install_sso_token(home)
    return Store(directory / "demo.sqlite")


def build_app(args: argparse.Namespace, store: object = None) -> Any:
    """The app, built as `ssm-tui` builds it (benchmarks/app.py times exactly this path).

    No garbage collection from here to the first frame (see `ssm_tui.ui.startup`).
    """
    from ssm_tui.ui.startup import pause_gc

    pause_gc()
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.services import Services

    profiles, regions, text = initial_scope(args)
    services = Services(store=store, initial_profiles=profiles, initial_regions=regions)
    services.initial_filter = text
    return SsmTuiApp(services, theme=getattr(args, "theme", None))


def _run_app(args: argparse.Namespace, store: object, sandbox: Any = None) -> int:
    from ssm_tui.logfile import log_to_file
    from ssm_tui.ui.app import end_leftovers
    from ssm_tui.ui.startup import resume_gc

    log_to_file()
    app = build_app(args, store)
    if sandbox is not None:  # issue 17: the demo's month of past sessions, behind the first frame
        from ssm_tui.demo_seed import seed_after_first_frame

        seed_after_first_frame(app, sandbox)
    status: int | None = None
    try:
        status = int(app.run() or 0)
    finally:
        resume_gc()
        end_leftovers(app)
        if app.signalled is not None:
            leave_now(128 + app.signalled if status is None else status)
    return status


def leave_now(status: int) -> None:
    """After a signal, skip the interpreter's shutdown: it flushes stdout into a terminal that
    may have stopped reading (or be gone) and, stuck there, would outlive the signal."""
    import logging

    from ssm_tui.term.pty import kill_all
    from ssm_tui.ui.app import detach_terminal

    kill_all()
    logging.shutdown()
    detach_terminal()
    os._exit(status)
