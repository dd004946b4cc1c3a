"""`ssm-tui history`: Session Manager sessions of the chosen profiles, merged with the local record.

A table on a terminal (owner names and reasons shown with their control characters made visible),
one JSON object per line with `--json`. Errors go to stderr, one per failed profile/region with
its next step; the exit status is 1 if any scope failed (the others are still listed), 2 for bad
usage (unknown profile, malformed config).
"""

from __future__ import annotations

import argparse
import asyncio
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument(
        "--profile",
        "-p",
        action="append",
        metavar="P",
        help="profile to ask (repeatable; default: every profile)",
    )
    parser.add_argument("--target", "-t", metavar="ID", help="only sessions on this instance")
    parser.add_argument(
        "--active", action="store_true", help="only sessions connected now (State=Active)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--no-local", action="store_true", help="leave out the local record of sessions"
    )


def run(args: argparse.Namespace) -> int:
    _quiet_botocore()
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.history import fetch_history
    from ssm_tui.aws.inventory import default_scopes
    from ssm_tui.aws.settings import load_settings
    from ssm_tui.services import select_profiles

    try:
        settings = load_settings()
        profiles = select_profiles(args.profile, settings)
    except SsmTuiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scopes = default_scopes(profiles, None, settings)
    store = None
    if not args.no_local:
        from ssm_tui.store import Store

        store = Store()
    states = ("Active",) if args.active else ("Active", "History")
    result = asyncio.run(
        fetch_history(scopes, target=args.target, store=store, states=states, run_as=True)
    )
    if store is not None and store.record_off:  # the AWS rows still list
        print(f"note: {store.record_off}", file=sys.stderr)
    sessions = list(result.sessions)
    if args.active:
        sessions = [s for s in sessions if s.active]
    if args.json:
        from ssm_tui.text import json_line

        for session in sessions:
            # control, bidi and surrogate characters as JSON escapes: safe on any terminal
            sys.stdout.write(json_line(session.as_json(), default=str) + "\n")
        sys.stdout.flush()
    else:
        _print_table(sessions)
    from ssm_tui.commands.list_cmd import _print_error

    for err in result.errors:
        _print_error(err)
    return 1 if result.errors else 0


def _print_table(sessions: list) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ssm_tui.term.transcript import visible_line
    from ssm_tui.text import printable

    def cell(value: str) -> Text:
        # reasons and names are user text: controls as symbols, bidi/format as escapes, no markup
        return Text(printable(visible_line(value)))

    table = Table(box=None, header_style="bold", pad_edge=False)
    from ssm_tui.timefmt import format_time, zone_label

    start = f"START ({zone_label()})"
    for column in (start, "END", "OWNER", "RUN AS", "TARGET", "STATUS", "REASON", "PROFILE", "SRC"):
        table.add_column(column, overflow="fold")
    table.add_column("SESSION ID", overflow="fold")
    for s in sessions:
        status = s.status + (f" ({s.exit_status})" if s.exit_status is not None else "")
        table.add_row(
            cell(format_time(s.start)),
            cell(format_time(s.end)),
            cell(s.owner_name),
            cell(s.run_as_text),  # the user and where that is known from, or "—"
            cell(s.target),
            Text(status, style="bold" if s.active else ""),
            cell(s.reason),
            cell(s.profile),
            cell(s.source),
            cell(s.session_id),
        )
    # in a pipe, one row per line (no 80-column folding) so grep and cut work
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 400)
    console.print(table)
    active = sum(1 for s in sessions if s.active)
    # the count is for the person, on stderr: piped stdout holds only the table
    Console(stderr=True, highlight=False).print(
        Text(f"{len(sessions)} session(s), {active} active", style="dim")
    )


def _quiet_botocore() -> None:
    """botocore logs retried failures with tracebacks; the command reports them itself."""
    import logging

    for name in ("botocore", "aiobotocore"):
        logging.getLogger(name).addHandler(logging.NullHandler())
