"""`ssm-tui run [TARGET ... | --filter TEXT] -- SCRIPT`: one command on many instances.

The script runs with AWS-RunShellScript on Linux/macOS and AWS-RunPowerShellScript on Windows, on
every chosen instance across profiles and regions (`aws/commands.py`). Results: a table (instance,
name, status, exit code, first lines of output) on a terminal, the full output of each instance
with `--full`, one JSON object per instance with `--json`. Ctrl-C cancels what still runs.

Exit status: 0 only if every chosen instance ran the script with success; 1 otherwise (failed,
timed out, not connected, or its profile failed); 2 for bad usage (nothing chosen, bad values).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from typing import Any

EXIT_USAGE = 2
FIRST_LINES = 3
_CONCURRENCY = re.compile(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
_ERRORS = re.compile(r"^([1-9][0-9]*|0|[1-9][0-9]%|[0-9]%|100%)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options (the script comes after `--`)."""
    parser.usage = (
        "ssm-tui run [--profile P ...] [--filter TEXT | TARGET ...] [--max-concurrency N] "
        "[--max-errors N] [--json] -- SCRIPT"
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="instance id or Name tag")
    parser.add_argument("--profile", "-p", action="append", metavar="P", help="repeatable")
    parser.add_argument("--regions", "-r", nargs="+", metavar="REGION", help="extra regions")
    parser.add_argument("--filter", "-f", metavar="TEXT", help="the fleet table's filter language")
    parser.add_argument(
        "--max-concurrency", default="50", metavar="N|N%", help="SendCommand MaxConcurrency"
    )
    parser.add_argument("--max-errors", default="0", metavar="N|N%", help="SendCommand MaxErrors")
    parser.add_argument(
        "--timeout", type=int, metavar="S", help="execution timeout in seconds (agent: 5..172800)"
    )
    parser.add_argument("--full", action="store_true", help="print each instance's whole output")
    parser.add_argument("--json", action="store_true", help="one JSON object per instance")
    parser.set_defaults(script_words=None)


def _fail(message: str, hint: str = "") -> int:
    from ssm_tui.commands.list_cmd import printable

    print(f"ssm-tui run: {printable(message)}", file=sys.stderr)
    if hint:
        print(f"  hint: {printable(hint)}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets as fleet_targets

    words = args.script_words
    if not words:
        return _fail("no script given", "put it after --, e.g. ssm-tui run web-1 -- 'uptime'")
    script = " ".join(words)
    if not _CONCURRENCY.match(args.max_concurrency):
        return _fail(f"--max-concurrency {args.max_concurrency}: give N (1+) or N% (1%..100%)")
    if not _ERRORS.match(args.max_errors):
        return _fail(f"--max-errors {args.max_errors}: give N (0+) or N% (0%..100%)")
    if args.targets and args.filter:
        return _fail("give TARGETs or --filter, not both")
    if not args.targets and not args.filter:
        return _fail("choose instances: TARGET ... or --filter TEXT")
    try:
        fleet = fleet_targets.load_fleet(args.profile, _regions(args.regions))
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    for error in fleet.errors:
        _print_scope_error(error)
    if args.filter:
        chosen = fleet_targets.by_filter(fleet.instances, args.filter)
    else:
        chosen = []
        for target in args.targets:
            hits = fleet_targets.by_target(fleet.instances, target)
            if not hits:
                return _fail(f"no managed instance is named {target!r}", "see `ssm-tui list`")
            chosen += [i for i in hits if i not in chosen]
    if not chosen:
        return _fail("no instance matches", "`ssm-tui list --filter ...` shows what a filter keeps")
    try:
        results = asyncio.run(_run(chosen, script, args))
    except KeyboardInterrupt:
        print("ssm-tui run: interrupted; the commands were cancelled", file=sys.stderr)
        return 130
    if args.json:
        for result in results:
            sys.stdout.write(json.dumps(result_json(result), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        _print_table(results)
        if args.full:
            _print_full(results)
    ok = all(r.succeeded for r in results) and not fleet.errors
    return 0 if ok else 1


async def _run(chosen: list, script: str, args: argparse.Namespace) -> list:
    from ssm_tui.aws.commands import CommandService

    service = CommandService()
    task = asyncio.ensure_future(
        service.run(
            chosen,
            script,
            max_concurrency=args.max_concurrency,
            max_errors=args.max_errors,
            execution_timeout=args.timeout,
            comment=f"ssm-tui run: {script}",
        )
    )
    try:
        return await asyncio.shield(task)
    except (asyncio.CancelledError, KeyboardInterrupt):
        task.cancel()
        await service.cancel()
        raise


def _regions(values: list[str] | None) -> list[str]:
    return [r.strip() for v in values or () for r in v.split(",") if r.strip()]


def result_json(result: Any) -> dict[str, Any]:
    i = result.instance
    return {
        "profile": i.profile,
        "account_id": i.account_id,
        "region": i.region,
        "instance_id": i.instance_id,
        "name": i.name,
        "platform_type": i.platform_type,
        "document": result.document,
        "command_id": result.command_id,
        "status": result.status,
        "status_details": result.details,
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "error": result.error,
    }


def first_lines(result: Any, count: int = FIRST_LINES) -> str:
    text = result.stdout or result.stderr or result.error
    lines = text.splitlines()
    shown = "\n".join(lines[:count])
    return shown + (f"\n… {len(lines) - count} more line(s)" if len(lines) > count else "")


def _print_scope_error(error: Any) -> None:
    from ssm_tui.commands.list_cmd import _print_error

    _print_error(error)


def _print_table(results: list) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ssm_tui.commands.list_cmd import printable

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("INSTANCE", "NAME", "PROFILE", "STATUS", "EXIT", "OUTPUT"):
        table.add_column(column, overflow="fold")
    styles = {"Success": "green", "Failed": "red", "TimedOut": "yellow", "Error": "red"}
    for r in results:
        table.add_row(
            Text(printable(r.instance.instance_id)),
            Text(printable(r.instance.name)),
            Text(printable(f"{r.instance.profile} {r.instance.region}")),
            Text(printable(r.status), style=styles.get(r.status, "")),
            Text("" if r.exit_code is None else str(r.exit_code)),
            Text("\n".join(printable(line) for line in first_lines(r).splitlines())),
        )
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)
    console.print(table)
    ok = sum(1 for r in results if r.succeeded)
    console.print(Text(f"{ok} of {len(results)} instance(s) succeeded", style="dim"))


def _print_full(results: list) -> None:
    from ssm_tui.commands.list_cmd import printable

    out = sys.stdout
    for r in results:
        out.write(
            f"\n==> {printable(r.instance.name)} ({r.instance.instance_id}): {r.status} <==\n"
        )
        for line in (r.stdout or "").splitlines():
            out.write(printable(line) + "\n")
        if r.stderr or r.error:
            out.write("--- stderr ---\n")
            for line in (r.stderr or r.error).splitlines():
                out.write(printable(line) + "\n")
    out.flush()
