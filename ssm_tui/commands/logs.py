"""`ssm-tui logs SESSION_ID`: print a session's transcript from CloudWatch Logs or S3.

Output is plain text by default, on a terminal *and* in a pipe: a transcript holds whatever the
remote side printed (window-title OSCs, screen clears, hostile text), and a pipe usually ends on a
terminal anyway (`| less`, `| head`). Lines are interpreted the way a terminal shows them and every
control sequence is dropped. `--raw` writes the recorded bytes unchanged, and only when stdout is
not a terminal (redirect to a file, then replay it deliberately).

Without `--profile`, the local record says which profile started the session; failing that every
profile is asked. `--follow` polls GetLogEvents (CloudWatch) until the session has ended and its
stream is read to the end, waiting for the stream to appear if it is not written yet.
Exit status: 0 printed, 1 no transcript (the reason on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("session_id", metavar="SESSION_ID", help="the session to print")
    parser.add_argument("--profile", "-p", metavar="P", help="profile to read the logs with")
    parser.add_argument("--region", "-r", metavar="R", help="region (default: the profile's)")
    parser.add_argument(
        "--source",
        choices=("cloudwatch", "s3"),
        help="read this destination (default: CloudWatch when written, else S3)",
    )
    parser.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new output until it ends"
    )
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="S", help="seconds between polls (2)"
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="write the recorded bytes unchanged (refused on a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    _quiet_botocore()
    from ssm_tui.aws.errors import SsmTuiError

    if args.raw and sys.stdout.isatty():
        print(
            "error: --raw would let the transcript's escape sequences drive this terminal\n"
            "  hint: redirect it to a file (ssm-tui logs ID --raw > session.log)",
            file=sys.stderr,
        )
        return 2
    try:
        scopes = _candidate_scopes(args)
    except SsmTuiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args, scopes))
    except KeyboardInterrupt:
        return 130


def _candidate_scopes(args: argparse.Namespace) -> list[Any]:
    """Where to look: --profile, else the local record's profile, else every profile."""
    from ssm_tui.aws.inventory import default_scopes
    from ssm_tui.aws.models import Scope
    from ssm_tui.aws.profiles import get_profile
    from ssm_tui.aws.settings import load_settings
    from ssm_tui.services import select_profiles

    settings = load_settings()
    if args.profile:
        profile = get_profile(args.profile)
        region = args.region or profile.region or "us-east-1"
        return [Scope(profile.name, region)]
    from ssm_tui.store import Store

    for record in Store().local_sessions(limit=100_000):
        if record.session_id == args.session_id:
            return [Scope(record.profile, args.region or record.region)]
    profiles = select_profiles(None, settings)
    return default_scopes(profiles, [args.region] if args.region else None, settings)


async def _find(args: argparse.Namespace, scopes: list[Any]) -> tuple[Any, list[Any]]:
    from ssm_tui.aws.logs import LogsState, find_transcripts

    results = await asyncio.gather(
        *(find_transcripts(s.profile, s.region, args.session_id) for s in scopes)
    )
    problems = []
    for refs, found_problems in results:
        wanted = [r for r in refs if args.source in (None, r.source)]
        if wanted:
            return wanted[0], []
        problems.extend(found_problems)
    if len(scopes) > 1:
        # asked everyone: "not configured"/"not written" of unrelated accounts is noise
        useful = [p for p in problems if p.state is not LogsState.NOT_CONFIGURED]
        problems = useful or problems
    return None, problems


async def _main(args: argparse.Namespace, scopes: list[Any]) -> int:
    from ssm_tui.aws.history import session_state
    from ssm_tui.aws.logs import LogsError

    ref, problems = await _find(args, scopes)
    waited = False
    while ref is None and args.follow:
        if not waited:
            print(f"waiting for the transcript of {args.session_id}…", file=sys.stderr)
            waited = True
        await asyncio.sleep(args.interval)
        ref, problems = await _find(args, scopes)
    if ref is None:
        _print_problems(problems, args.session_id)
        print(await _session_note(args.session_id, scopes), file=sys.stderr)
        return 1
    printer = _Printer(sys.stdout, raw=args.raw)
    try:
        await _print_transcript(ref, printer, args, session_state)
    except LogsError as exc:
        printer.close()
        _print_problems([exc.problem], args.session_id)
        return 1
    printer.close()
    return 0


async def _print_transcript(ref: Any, printer: _Printer, args: argparse.Namespace, state) -> None:  # noqa: ANN001
    from ssm_tui.aws.logs import open_transcript

    ended_reads = 0
    async with open_transcript(ref) as reader:
        while True:
            page = await reader.next_page()
            printer.page(page)
            if not page.done:
                continue
            if not args.follow or ref.source != "cloudwatch":
                return
            # at the end of what is written: stop once the session is over and read to its end
            try:
                current = await state(ref.profile, ref.region, ref.session_id)
            except Exception:  # noqa: BLE001 - cannot tell: keep following
                current = "Active"
            if current != "Active":
                ended_reads += 1
                if ended_reads > 1:
                    return
            await asyncio.sleep(args.interval)


class _Printer:
    """Writes complete lines as pages arrive (plain text), or the bytes as recorded (--raw)."""

    def __init__(self, out: TextIO, *, raw: bool) -> None:
        from ssm_tui.term.transcript import TranscriptDocument

        self.out = out
        self.raw = raw
        self.document = TranscriptDocument()
        self.printed = 0

    def page(self, page: Any) -> None:
        if self.raw:
            buffer = self.out.buffer
            for text, _ in page.chunks:
                buffer.write(text.encode("utf-8", "surrogateescape"))
            if page.raw:
                buffer.write(page.raw)
            buffer.flush()
            return
        for text, stamp in page.chunks:
            self.document.feed(text, stamp)
        if page.raw:
            self.document.feed_bytes(page.raw)
        # the last line may still grow: print up to the one before it
        self._flush(len(self.document) - 1)

    def _flush(self, upto: int) -> None:
        from ssm_tui.text import printable

        doc = self.document
        while self.printed < upto:
            # what the remote side printed, minus what a terminal would obey or hide (bidi)
            self.out.write(printable(doc.plain(self.printed)) + "\n")
            self.printed += 1
        self.out.flush()
        doc.forget_before(self.printed)  # constant memory, however long the transcript
        self.printed = 0

    def close(self) -> None:
        if self.raw:
            return
        self.document.finish()
        self._flush(len(self.document))


async def _session_note(session_id: str, scopes: list[Any]) -> str:
    """Why there may be no transcript: the session is still running, or AWS does not know it."""
    from ssm_tui.aws.history import session_state
    from ssm_tui.term.transcript import visible_line

    states = await asyncio.gather(
        *(session_state(s.profile, s.region, session_id) for s in scopes), return_exceptions=True
    )
    name = visible_line(session_id)
    if "Active" in states:
        return f"note: session {name} is still active; its transcript is written when it ends"
    if "History" in states:
        return f"note: session {name} has ended; its transcript was not written where logs point"
    return (
        f"note: no session {name} is known to these profiles "
        "(older than 30 days, another account, or a typo)"
    )


def _print_problems(problems: list[Any], session_id: str) -> None:
    from ssm_tui.term.transcript import visible_line

    if not problems:
        print(f"error: no transcript found for {visible_line(session_id)}", file=sys.stderr)
    for problem in problems:
        where = f"{problem.profile}: " if problem.profile else ""
        print(f"error: {where}{problem.message}", file=sys.stderr)
        if problem.hint:
            print(f"  hint: {problem.hint}", file=sys.stderr)


def _quiet_botocore() -> None:
    """botocore logs retried failures with tracebacks; the command reports them itself."""
    import logging

    for name in ("botocore", "aiobotocore"):
        logging.getLogger(name).addHandler(logging.NullHandler())
