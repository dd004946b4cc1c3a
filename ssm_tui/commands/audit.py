"""`ssm-tui audit search|watch`: the auditor's questions across every profile, account and region.

`search PATTERN` prints every transcript line that matches, with its session, owner, instance and
context (one JSON object per hit with `--json`); `watch` prints sessions as they start and end
(one JSON object per event with `--json`, for a chat webhook or `notify-send`) and runs the
`[audit]` hooks of the settings with the event's JSON on stdin. Text from AWS is printed with
its control characters made visible, never interpreted. Exit status: 0, or 1 when a profile
failed (the others are still searched), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `audit search` and `audit watch`."""
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    search = sub.add_parser(
        "search",
        help="search every transcript (CloudWatch Logs and S3) for a text or regex",
        description="Search session transcripts across profiles, accounts and regions.",
    )
    search.add_argument("pattern", metavar="PATTERN", help="text to find (a regex with --regex)")
    _profile_arguments(search)
    search.add_argument("--since", default="7d", help="how far back: 7d, 12h, or an ISO time")
    search.add_argument("--until", help="up to: 1d, or an ISO time (default: now)")
    search.add_argument("--owner", help="only sessions of this person (role session name)")
    search.add_argument("--target", "-t", help="only sessions on this instance (id or Name)")
    search.add_argument("--regex", "-E", action="store_true", help="PATTERN is a regex")
    search.add_argument("--ignore-case", "-i", action="store_true")
    search.add_argument("--context", "-C", type=int, default=2, metavar="N")
    search.add_argument("--json", action="store_true", help="one JSON object per hit")
    watch = sub.add_parser(
        "watch",
        help="print sessions starting and ending across profiles (and run the [audit] hooks)",
        description="Follow sessions as they start and end across profiles, accounts, regions.",
    )
    _profile_arguments(watch)
    watch.add_argument("--interval", type=float, help="seconds between polls (default: settings)")
    watch.add_argument("--json", action="store_true", help="one JSON object per event")
    watch.add_argument("--once", action="store_true", help="poll once (what is connected now)")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N polls")


def _profile_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--profile", "-p", action="append", metavar="P", help="repeatable")
    group.add_argument("--all-profiles", action="store_true", help="every profile (the default)")


def run(args: argparse.Namespace) -> int:
    from ssm_tui.commands.history import _quiet_botocore

    _quiet_botocore()
    scopes = _scopes(args)
    if isinstance(scopes, int):
        return scopes
    if args.audit_command == "search":
        return _search(args, scopes)
    return _watch(args, scopes)


def _scopes(args: argparse.Namespace) -> Any:
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.inventory import default_scopes
    from ssm_tui.aws.settings import load_settings
    from ssm_tui.services import select_profiles

    try:
        settings = load_settings()
        profiles = select_profiles(args.profile, settings)
    except SsmTuiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.settings = settings
    return default_scopes(profiles, None, settings)


def _search(args: argparse.Namespace, scopes: list) -> int:
    import re

    from ssm_tui.aws.audit import Query, parse_age, search

    try:
        since = parse_age(args.since) if args.since else None
        until = parse_age(args.until) if args.until else None
        query = Query(
            pattern=args.pattern,
            regex=args.regex,
            ignore_case=args.ignore_case,
            since=since,
            until=until,
            owner=args.owner,
            target=args.target,
            context=max(0, args.context),
        )
        query.compiled()
    except (ValueError, re.error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = asyncio.run(search(scopes, query))
    if args.json:
        from ssm_tui.text import json_line

        for hit in result.hits:
            sys.stdout.write(json_line(hit.as_json(), default=str) + "\n")
        sys.stdout.flush()
    else:
        _print_hits(result.hits)
    _print_errors(result.errors)
    return 1 if result.errors else 0


def _shown(value: str) -> Any:
    from rich.text import Text

    from ssm_tui.term.transcript import visible_line
    from ssm_tui.text import printable

    return Text(printable(visible_line(value)))


def _print_hits(hits: Any) -> None:
    from rich.console import Console
    from rich.text import Text

    from ssm_tui.timefmt import format_time

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 400)
    for hit in hits:
        head = Text()
        head.append(format_time(hit.time), style="bold")
        head.append("  ")
        head.append_text(_shown(hit.owner))
        if hit.owner_hint:
            head.append(" (" + hit.owner_hint + ")", style="dim")
        head.append("  ")
        head.append_text(_shown(hit.instance_name or hit.target))
        if hit.instance_name:
            head.append(" ")
            head.append_text(_shown(hit.target))
        head.append(f"  {hit.profile} {hit.account_id} {hit.region}  ", style="dim")
        head.append_text(_shown(hit.session_id))
        if hit.reason:
            head.append("  reason: ", style="dim")
            head.append_text(_shown(hit.reason))
        console.print(head)
        for line in hit.before:
            console.print(Text("    ") + _shown(line), style="dim")
        console.print(Text("  > ") + _shown(hit.line))
        for line in hit.after:
            console.print(Text("    ") + _shown(line), style="dim")
    sessions = len({hit.session_id for hit in hits})
    Console(stderr=True, highlight=False).print(
        Text(f"{len(hits)} hit(s) in {sessions} session(s)", style="dim")
    )


def _print_errors(errors: Any) -> None:
    from ssm_tui.commands.list_cmd import _print_error

    for err in errors:
        _print_error(err)


def _watch(args: argparse.Namespace, scopes: list) -> int:
    from ssm_tui.aws.audit import Watcher

    audit = args.settings.audit
    interval = args.interval if args.interval is not None else audit.watch_interval
    if interval <= 0:
        print("error: --interval must be > 0", file=sys.stderr)
        return 2
    # a failed scope is tried again after one interval, then twice as long each time
    watcher = Watcher(scopes, [hook.pattern for hook in audit.on_pattern], retry_first=interval)
    polls = 1 if args.once else args.count
    try:
        return asyncio.run(_follow(watcher, audit, interval, polls, args.json))
    except KeyboardInterrupt:
        return 0


async def _follow(
    watcher: Any, audit: Any, interval: float, polls: int | None, as_json: bool
) -> int:
    from ssm_tui.aws.audit import hooks_for, run_hook

    done = 0
    reported: set[tuple[str, str | None]] = set()
    while polls is None or done < polls:
        events = await watcher.poll()
        for event in events:
            _print_event(event, as_json)
            for command in hooks_for(event, audit):
                run = await run_hook(command, event)
                if run.returncode:
                    print(
                        f"warning: hook `{command}` exited {run.returncode}: {run.stderr.strip()}",
                        file=sys.stderr,
                    )
        for scope in watcher.recovered:  # it failed before: say it works now
            reported.discard((scope.profile, scope.region))
            print(f"{scope.profile} ({scope.region}): working again", file=sys.stderr, flush=True)
        for err in watcher.errors:
            key = (err.profile, err.region)
            if key not in reported:  # once per failure, not on every poll
                reported.add(key)
                _print_errors([err])
        done += 1
        if done == 1:  # a person (and a test) knows the feed is live from here on
            print(
                f"watching {len(watcher.scopes)} profile/region scope(s), every {interval:g} s",
                file=sys.stderr,
                flush=True,
            )
        if polls is None or done < polls:
            await asyncio.sleep(interval)
    return 1 if watcher.errors else 0


def _print_event(event: Any, as_json: bool) -> None:
    if as_json:
        from ssm_tui.text import json_line

        sys.stdout.write(json_line(event.as_json(), default=str) + "\n")
        sys.stdout.flush()
        return
    from rich.console import Console
    from rich.text import Text

    from ssm_tui.timefmt import format_time

    when = event.end if event.kind == "end" else event.start
    line = Text()
    line.append(f"{event.kind:<8}", style="bold")
    line.append(format_time(when) + "  ")
    line.append_text(_shown(event.owner))
    if event.owner_hint:
        line.append(" (" + event.owner_hint + ")", style="dim")
    line.append("  ")
    line.append_text(_shown(event.instance_name or event.target))
    line.append(f"  {event.profile} {event.account_id} {event.region}  ", style="dim")
    line.append_text(_shown(event.session_id))
    if event.reason:
        line.append("  reason: ", style="dim")
        line.append_text(_shown(event.reason))
    if event.kind == "pattern":
        line.append("  > ")
        line.append_text(_shown(event.line))
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 400)
    console.print(line)
    sys.stdout.flush()


# -- connect: reason and Run As (issue 17; called by commands/connect.py) -----------------------

REASON_MAX = 256
"""StartSession's Reason: 1 to 256 characters (botocore model `SessionReason`)."""


def connect_preflight(args: argparse.Namespace) -> int | None:
    """Before `connect` starts a session: the reason its profile requires, and the Run As user.

    Returns an exit status to stop with, or None to go on (`args.reason` may have been set from
    the prompt). Without a terminal a required reason must come from `--reason`.
    """
    import os

    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.settings import load_settings

    profile = args.profile or os.environ.get("AWS_PROFILE") or "default"
    try:
        settings = load_settings()
    except SsmTuiError as exc:
        print(f"ssm-tui connect: {exc}", file=sys.stderr)
        return 2
    reason = (args.reason or "").strip()
    if not reason and settings.requires_reason(profile):
        if not sys.stdin.isatty():
            print(
                f"ssm-tui connect: profile {profile} requires a reason for every session\n"
                "  give one with --reason 'TICKET-123 restart nginx'",
                file=sys.stderr,
            )
            return 2
        try:
            reason = input(f"Reason for this session on {profile} (required): ").strip()
        except EOFError:
            reason = ""
        if not reason:
            print("ssm-tui connect: no reason given: no session started", file=sys.stderr)
            return 2
    if len(reason) > REASON_MAX:
        print(
            f"ssm-tui connect: the reason is {len(reason)} characters; AWS takes at most "
            f"{REASON_MAX}",
            file=sys.stderr,
        )
        return 2
    args.reason = reason or None
    if not getattr(args, "document", None):  # shell and command sessions only: Run As applies
        _show_run_as(profile if args.profile or os.environ.get("AWS_PROFILE") else None, args)
    return None


def _show_run_as(profile: str | None, args: argparse.Namespace) -> None:
    """Say which OS user the session will be, when Run As changes it (or on a terminal)."""
    from ssm_tui.aws.audit import run_as

    try:
        region = args.region or _profile_region(profile)
        found = asyncio.run(run_as(profile or "default", region)) if region else None
    except Exception:  # noqa: BLE001 - informative only; the session still starts
        return
    if found is None:
        return
    args.run_as = found  # the local record keeps it (history's Run As column)
    if found.enabled or sys.stderr.isatty():
        print(f"ssm-tui connect: {found.describe()}", file=sys.stderr)


def _profile_region(profile: str | None) -> str | None:
    from ssm_tui.aws.profiles import get_profile

    try:
        return get_profile(profile or "default").region
    except Exception:  # noqa: BLE001
        return None
