"""`ssm-tui list`: every managed instance of the chosen profiles and regions, for scripts.

A rich table on a terminal (sorted, once every scope is done; the instance count on stderr).
`--json` writes JSON lines, one object per instance, *streamed*: each profile·region's rows
(sorted by name) are written and flushed as soon as that scope finishes, so a slow or hung scope
(up to its deadline) never holds back the others' rows; nothing but rows goes to stdout.
Errors go to stderr, one per failed profile/region with its next step; the exit status is 1 if
any scope failed (the others are still listed), 2 for bad usage (unknown profile, malformed config).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from ssm_tui.aws.models import Instance, ScopeError, ScopeResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--profile",
        "-p",
        action="append",
        metavar="P",
        help="profile to list (repeatable; default: every profile)",
    )
    group.add_argument(
        "--all-profiles", action="store_true", help="list every profile (the default)"
    )
    parser.add_argument(
        "--regions",
        "-r",
        nargs="+",
        metavar="REGION",
        help="extra regions to list besides each profile's own (space or comma separated)",
    )
    parser.add_argument(
        "--filter",
        "-f",
        metavar="TEXT",
        help="keep instances whose name, id, IP, profile, platform or tags contain TEXT",
    )
    parser.add_argument(
        "--discover",
        action="store_true",
        help="also list the accounts and roles your IAM Identity Center logins reach "
        "(discovered profiles, usable with --profile; no file is edited)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--no-cache", action="store_true", help="do not update the inventory cache")


def _regions(values: Sequence[str] | None) -> list[str]:
    return [r.strip() for v in values or () for r in v.split(",") if r.strip()]


def matches(instance: Instance, text: str | None) -> bool:
    """Case-insensitive substring match over what a user would search for."""
    if not text:
        return True
    needle = text.casefold()
    haystack = [
        instance.name,
        instance.instance_id,
        instance.ip_address,
        instance.profile,
        instance.account_id,
        instance.account_label,
        instance.region,
        instance.platform_name,
        instance.platform_type,
        instance.ping_status,
        instance.computer_name,
        *instance.tags.values(),
    ]
    return any(needle in (value or "").casefold() for value in haystack)


def printable(value: str) -> str:
    """AWS text made safe for a terminal (see `ssm_tui.text.printable`, the one definition)."""
    from ssm_tui.text import printable as _printable

    return _printable(value)


def instance_json(instance: Instance) -> dict[str, object]:
    """The JSON-lines form of an instance (ISO times, everything else as AWS said it)."""
    return {
        "profile": instance.profile,
        "account_id": instance.account_id,
        "account": instance.account_label,
        "region": instance.region,
        "instance_id": instance.instance_id,
        "name": instance.name,
        "ping_status": instance.ping_status,
        "platform_type": instance.platform_type,
        "platform_name": instance.platform_name,
        "agent_version": instance.agent_version,
        "ip_address": instance.ip_address,
        "computer_name": instance.computer_name,
        "resource_type": instance.resource_type,
        "instance_state": instance.instance_state,
        "instance_type": instance.instance_type,
        "last_ping": instance.last_ping.isoformat() if instance.last_ping else None,
        "tags": instance.tags,
    }


def _print_error(err: ScopeError, label: str = "error") -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    where = f"{err.profile} ({err.region})" if err.region else err.profile
    line = Text(f"{label}: ", style="bold red" if label == "error" else "bold yellow")
    line.append(printable(f"{where}: {err.message}"))
    console.print(line)
    if err.hint:
        console.print(Text(printable(f"  hint: {err.hint}"), style="yellow"))


def _print_table(instances: list[Instance]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("NAME", "ID", "ACCOUNT", "PROFILE", "REGION", "PING", "PLATFORM", "IP"):
        table.add_column(column, overflow="fold")
    styles = {"Online": "green", "ConnectionLost": "yellow", "Inactive": "red"}
    for i in instances:
        table.add_row(
            Text(printable(i.name)),
            Text(printable(i.instance_id)),
            Text(printable(i.account_label or i.account_id)),
            Text(printable(i.profile)),
            Text(printable(i.region)),
            Text(printable(i.ping_status), style=styles.get(i.ping_status, "")),
            Text(printable(i.platform_name or i.platform_type)),
            Text(printable(i.ip_address)),
        )
    # Piped output is for grep/awk: one line per instance, never folded at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)
    console.print(table)
    # The count is for the person reading, on stderr: piped stdout holds only the rows.
    Console(stderr=True, highlight=False).print(Text(f"{len(instances)} instance(s)", style="dim"))


async def _collect(
    scopes: list, profiles: list, cache: bool, each: Callable[[ScopeResult], None] | None = None
) -> list[ScopeResult]:
    """List the scopes while account aliases resolve beside it; label the instances.

    `each` gets every scope's labelled result as soon as that scope finishes (`--json` streams
    its rows from there), so a scope that hangs until its deadline never holds back the others.
    """
    import dataclasses

    from ssm_tui.aws.accounts import cached_label, group_accounts
    from ssm_tui.aws.inventory import InventoryService

    store = None
    if cache:
        from ssm_tui.store import Store

        store = Store()
        if store.cache_off:
            print(f"note: {store.cache_off}", file=sys.stderr)
    labels = asyncio.create_task(group_accounts(profiles))

    def label(result: ScopeResult) -> ScopeResult:
        instances = tuple(
            dataclasses.replace(i, account_label=cached_label(i.account_id) or i.account_label)
            for i in result.instances
        )
        result = result._replace(instances=instances)
        if store is not None:  # with the fleet table's widths, as the app saves a refresh
            from ssm_tui.ui.fleet_model import cache_widths

            store.save_inventory(result, cache_widths(result.instances))
        return result

    results: list[ScopeResult] = []
    try:
        async for result in InventoryService().stream(scopes):
            if each is None:
                results.append(result)
            else:  # streamed: labelled with what is known by now
                results.append(label(result))
                each(results[-1])
        if each is None:
            await asyncio.gather(labels, return_exceptions=True)  # labels are cosmetic
            results = [label(r) for r in results]
    finally:
        labels.cancel()
        await asyncio.gather(labels, return_exceptions=True)
    return results


def _write_json(instances: Iterable[Instance]) -> None:
    """JSON lines, flushed at once: a reader sees a scope's rows as soon as it finishes."""
    from ssm_tui.text import json_line

    out = sys.stdout
    for instance in instances:
        out.write(json_line(instance_json(instance), default=_default))
        out.write("\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.inventory import default_scopes
    from ssm_tui.aws.profiles import load_profiles
    from ssm_tui.aws.settings import load_settings
    from ssm_tui.services import select_profiles

    discover_errors: list[ScopeError] = []
    try:
        settings = load_settings()
        written = load_profiles()
        found = []
        if args.discover:
            from ssm_tui.aws.accounts import discover_sso

            found, discover_errors = asyncio.run(discover_sso(written))
        profiles = select_profiles(args.profile, settings, extra=found)
    except SsmTuiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ssm_tui.aws.profiles import config_problems

    for problem in config_problems():  # the profiles it spares still list (issue 13)
        _print_error(ScopeError("AWS config", None, problem.message, problem.hint), "warning")
    scopes = default_scopes(profiles, _regions(args.regions), settings)

    def stream(result: ScopeResult) -> None:
        rows = [i for i in result.instances if matches(i, args.filter)]
        _write_json(sorted(rows, key=lambda i: (i.name.casefold(), i.instance_id)))

    each = stream if args.json else None
    results = asyncio.run(_collect(scopes, profiles, cache=not args.no_cache, each=each))
    order = {scope: n for n, scope in enumerate(scopes)}
    results.sort(key=lambda r: order.get(r.scope, 0))
    if not args.json:
        instances = sorted(
            (i for r in results for i in r.instances if matches(i, args.filter)),
            key=lambda i: (i.account_label or i.account_id, i.profile, i.region, i.name.casefold()),
        )
        _print_table(instances)
    failed = [*discover_errors, *(r.error for r in results if r.error is not None)]
    for err in failed:
        _print_error(err)
    for result in results:  # rows listed, some detail missing (issue 13): said, not failed
        if result.partial is not None:
            _print_error(result.partial, "warning")
    return 1 if failed else 0


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
