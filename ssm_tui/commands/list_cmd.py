"""`ssm-tui list`: every managed instance of the chosen profiles and regions, for scripts.

One row per node (account, region, instance), however many profiles reach it: `profiles` lists
them all and `profile` is the one a session would use (`ssm_tui.nodes`); `--by-profile` gives
one row per profile and instance, the shape before the merge. `--filter` is the fleet table's
language (`ssm_tui.filtering`), best matches first.

A rich table on a terminal (sorted, once every scope is done; the instance count on stderr).
`--json` writes JSON lines, one object per node, *streamed*: a node is written as soon as every
scope that can list it has answered (the scopes of its region whose profile the config says
reaches its account), so a slow or hung scope (up to its deadline) never holds back the other
accounts' rows; nothing but rows goes to stdout. A profile whose account the config does not
name holds nothing back; it only adds to the nodes not written yet.
Errors go to stderr, one per failed profile/region with its next step; the exit status is 1 if
any scope failed (the others are still listed), 2 for bad usage (unknown profile, malformed config).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from ssm_tui.aws.models import Instance, Profile, Scope, ScopeError, ScopeResult
from ssm_tui.nodes import Reach


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
        help="the fleet's filter: words, tag:Key=Value, status:offline, profile:prod, "
        '"exact-name" (ssm-tui list --help-filter)',
    )
    parser.add_argument(
        "--by-profile",
        action="store_true",
        help="one row per profile and instance (default: one per instance, with its profiles)",
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


def select(
    instances: Sequence[Instance],
    text: str | None,
    profiles_of: Mapping[str, Sequence[str]] | None = None,
) -> list[Instance]:
    """The instances `text` keeps (every status: `list` shows them all), best matches first."""
    if not text:
        return list(instances)
    from ssm_tui.filtering import filter_instances

    return filter_instances(instances, text, online_only=False, profiles_of=profiles_of)


def printable(value: str) -> str:
    """AWS text made safe for a terminal (see `ssm_tui.text.printable`, the one definition)."""
    from ssm_tui.text import printable as _printable

    return _printable(value)


def instance_json(instance: Instance, profiles: Sequence[str] | None = None) -> dict[str, object]:
    """The JSON-lines form of an instance (ISO times, everything else as AWS said it).

    `profiles`: every profile reaching the node (merged rows); absent in `--by-profile` rows."""
    extra: dict[str, object] = {} if profiles is None else {"profiles": list(profiles)}
    return {
        "profile": instance.profile,
        **extra,
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
        "image_id": instance.image_id,
        "vpc_id": instance.vpc_id,
        "subnet_id": instance.subnet_id,
        "iam_role": instance.iam_role,
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


def _print_table(instances: list[Instance], profiles_of: dict[str, list[str]]) -> None:
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
            Text(printable(_profile_cell(i, profiles_of.get(i.key, [i.profile])))),
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


def _profile_cell(instance: Instance, profiles: Sequence[str]) -> str:
    others = [p for p in profiles if p != instance.profile]
    return instance.profile + (f" (+{', '.join(others)})" if others else "")


def _write_json(
    instances: Iterable[Instance], profiles_of: dict[str, list[str]] | None = None
) -> None:
    """JSON lines, flushed at once: a reader sees a scope's rows as soon as it finishes."""
    from ssm_tui.text import json_line

    out = sys.stdout
    for instance in instances:
        profiles = (
            None if profiles_of is None else profiles_of.get(instance.key, [instance.profile])
        )
        out.write(json_line(instance_json(instance, profiles), default=_default))
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
        found: list[Profile] = []
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
    merger = None if args.by_profile else _Merger(scopes, profiles, _reach(settings))

    def by_name(rows: Iterable[Instance]) -> list[Instance]:
        return sorted(rows, key=lambda i: (i.name.casefold(), i.instance_id))

    def stream(result: ScopeResult) -> None:
        if merger is None:
            _write_json(select(by_name(result.instances), args.filter))
            return
        ready = merger.add(result)
        _write_json(select(by_name(ready), args.filter, merger.profiles_of), merger.profiles_of)

    each = stream if args.json else None
    results = asyncio.run(_collect(scopes, profiles, cache=not args.no_cache, each=each))
    order = {scope: n for n, scope in enumerate(scopes)}
    results.sort(key=lambda r: order.get(r.scope, 0))
    if args.json and merger is not None:
        rest = merger.rest()
        _write_json(select(by_name(rest), args.filter, merger.profiles_of), merger.profiles_of)
    if not args.json:
        if merger is not None:
            listed = [i for result in results for i in merger.add(result)] + merger.rest()
        else:
            listed = [i for r in results for i in r.instances]
        instances = sorted(
            listed,
            key=lambda i: (i.account_label or i.account_id, i.profile, i.region, i.name.casefold()),
        )
        profiles_of = merger.profiles_of if merger is not None else {}
        _print_table(select(instances, args.filter, profiles_of), profiles_of)
    failed = [*discover_errors, *(r.error for r in results if r.error is not None)]
    for err in failed:
        _print_error(err)
    for result in results:  # rows listed, some detail missing (issue 13): said, not failed
        if result.partial is not None:
            _print_error(result.partial, "warning")
    return 1 if failed else 0


def _reach(settings: object) -> Reach:
    """Denials and last-used profiles from the local record, preferences from the settings."""
    preferred = dict(getattr(settings, "preferred_profiles", {}) or {})
    try:
        from ssm_tui.store import Store

        store = Store()
        return Reach(set(store.denials()), preferred, store.last_profiles())
    except Exception:  # noqa: BLE001 - the choice of profile is a convenience
        return Reach(preferred=preferred)


class _Merger:
    """Scope results folded into one row per node, released when no other scope can add to it.

    A node (account, region, id) is complete once every scope of its region whose profile the
    config says reaches that account has answered; profiles whose account is unknown until
    listed hold nothing back.
    """

    def __init__(self, scopes: Sequence[Scope], profiles: Sequence[Profile], reach: Reach) -> None:
        self.reach = reach
        self.order = {p.name: n for n, p in enumerate(profiles)}
        """Config order: the last tie-break of the profile a node's session uses, as in the app
        (not the order the scopes happened to answer in)."""
        account_of = {p.name: p.account_id for p in profiles}
        self.waiting: dict[tuple[str, str], set[Scope]] = {}
        for scope in scopes:
            account = account_of.get(scope.profile)
            if account:
                self.waiting.setdefault((account, scope.region), set()).add(scope)
        self.nodes: dict[str, list[Instance]] = {}
        self.written: set[str] = set()
        self.profiles_of: dict[str, list[str]] = {}
        """Key of a node's chosen instance -> every profile reaching the node."""

    def add(self, result: ScopeResult) -> list[Instance]:
        """Fold in one scope's result; the nodes now complete, each as its chosen instance."""
        for waiting in self.waiting.values():
            waiting.discard(result.scope)
        for instance in result.instances:
            if instance.node in self.written:
                continue
            views = self.nodes.setdefault(instance.node, [])
            if all(v.profile != instance.profile for v in views):
                views.append(instance)
        ready = [
            node
            for node, views in self.nodes.items()
            if not self.waiting.get((views[0].account_id, views[0].region))
        ]
        return self._release(ready)

    def rest(self) -> list[Instance]:
        """Every node not released yet (every scope has answered)."""
        return self._release(list(self.nodes))

    def _release(self, nodes: list[str]) -> list[Instance]:
        from ssm_tui.nodes import choose

        out = []
        for node in nodes:
            last = len(self.order)
            views = sorted(self.nodes.pop(node), key=lambda v: self.order.get(v.profile, last))
            self.written.add(node)
            chosen = choose(views, self.reach)
            self.profiles_of[chosen.key] = [v.profile for v in views]
            out.append(chosen)
        return out


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
