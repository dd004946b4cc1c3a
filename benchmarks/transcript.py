"""Transcript viewer benchmark: a 100 MB transcript opens at once (target: first frame < 1 s).

A sandbox is started and a transcript of `--mb` megabytes (shell-like lines with colours) is put
into its S3 bucket and, with `--cloudwatch`, into its CloudWatch log group, where Session Manager
would have written it. Then, median of `--runs` runs each:

- **viewer**: a headless Textual app (Pilot) pushes `TranscriptScreen` on the transcript and waits
  for the first painted frame showing its first lines: UI time from "open" to "on screen".
- **baseline, first page**: boto3 reading the same first page straight (ranged GetObject of the
  viewer's first page size / one GetLogEvents page), no UI: the floor the viewer adds to.
- **reference, whole object**: boto3 GetObject of the entire object split into lines, which a
  viewer that reads before it shows would pay first (on loopback; over a real link, add ~1 s
  per 10 MB/s of bandwidth).

Run: `.venv/bin/python benchmarks/transcript.py [--mb 100] [--runs 5] [--cloudwatch]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROFILE = "sandbox"
REGION = "us-east-1"
ACCOUNT = "111111111111"
BUCKET = f"acme-ssm-sessions-{ACCOUNT}-{REGION}"
GROUP = "/acme/ssm/sessions"
SESSION = "alice-0000000000bench100"


def make_transcript(megabytes: int) -> bytes:
    """Shell-like output: prompts, coloured `ls`, long lines; about `megabytes` MB."""
    block = []
    for i in range(1000):
        block.append(f"\x1b[01;32mssm-user@ip-10-0-0-1\x1b[00m:~$ ls -l /var/log/app-{i}\r\n")
        size, minute = f"{i * 37:>8}", f"{i % 60:02d}"
        block.append(
            f"-rw-r--r-- 1 root root {size} Mar  1 09:{minute} \x1b[01;34mapp.log\x1b[0m\r\n"
        )
        block.append(("x" * (i % 120)) + f" progress {i % 100}%\rdone {i}\r\n")
    chunk = "".join(block).encode()
    repeat = max(1, (megabytes * 1024 * 1024) // len(chunk))
    return chunk * repeat


def put_s3(body: bytes) -> str:
    import boto3

    key = f"session-logs/{SESSION}.log"
    s3 = boto3.Session(profile_name=PROFILE, region_name=REGION).client("s3")
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return key


def put_cloudwatch(body: bytes) -> None:
    import boto3

    logs = boto3.Session(profile_name=PROFILE, region_name=REGION).client("logs")
    logs.create_log_stream(logGroupName=GROUP, logStreamName=SESSION)
    lines = body.decode().splitlines(keepends=True)
    stamp = int(time.time() * 1000) - len(lines)
    batch: list[dict[str, object]] = []
    size = 0
    for n, line in enumerate(lines):
        batch.append({"timestamp": stamp + n // 100, "message": line})
        size += len(line) + 26
        if len(batch) == 10_000 or size > 900_000:
            logs.put_log_events(logGroupName=GROUP, logStreamName=SESSION, logEvents=batch)
            batch, size = [], 0
    if batch:
        logs.put_log_events(logGroupName=GROUP, logStreamName=SESSION, logEvents=batch)


async def viewer_first_frame(ref: object) -> tuple[float, float, int]:
    """Seconds from pushing the viewer to the first frame showing transcript lines.

    Returns (cold, warm, bytes read): cold is the first open in a fresh app (AWS clients built
    on the way), warm a second open in the same app (clients cached, as after any AWS call).
    """
    from textual.app import App

    from ssm_tui.services import Services
    from ssm_tui.ui.screens.transcript import TranscriptScreen, TranscriptView

    app: App[None] = App()
    services = Services(store=False)  # the viewer reads on its AWS loop, as in the app
    times: list[float] = []
    loaded = 0
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(2):
            start = time.perf_counter()
            screen = TranscriptScreen(ref, source=services.transcript_source())  # type: ignore[arg-type]
            await app.push_screen(screen)
            view = screen.query_one(TranscriptView)
            while not len(screen.document):
                await asyncio.sleep(0.001)
            view.document_changed()
            await pilot.pause()  # the refresh that paints those lines
            first_line = view.render_line(0).text.strip()
            times.append(time.perf_counter() - start)
            assert first_line, "the first frame shows no transcript line"
            loaded = screen.document.byte_count
            app.pop_screen()
            await pilot.pause()
    services.aws.stop()
    return times[0], times[1], loaded


def baseline_first_page(source: str, key: str, first_bytes: int, first_events: int) -> float:
    import boto3

    session = boto3.Session(profile_name=PROFILE, region_name=REGION)
    start = time.perf_counter()
    if source == "s3":
        reply = session.client("s3").get_object(
            Bucket=BUCKET, Key=key, Range=f"bytes=0-{first_bytes - 1}"
        )
        reply["Body"].read()
    else:
        session.client("logs").get_log_events(
            logGroupName=GROUP, logStreamName=SESSION, startFromHead=True, limit=first_events
        )
    return time.perf_counter() - start


def whole_object(key: str) -> float:
    """Read the whole object and split it into lines: what a read-then-show viewer pays first."""
    import boto3

    from ssm_tui.term.transcript import TranscriptDocument

    s3 = boto3.Session(profile_name=PROFILE, region_name=REGION).client("s3")
    start = time.perf_counter()
    document = TranscriptDocument()
    document.feed_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    document.finish()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="transcript size in MB (100)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cloudwatch", action="store_true", help="also measure CloudWatch")
    args = parser.parse_args()

    from ssm_tui.aws import logs as logs_mod
    from ssm_tui.aws.clients import forget_sessions
    from ssm_tui.aws.models.logs import TranscriptRef
    from ssm_tui.demo import SandboxProcess

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = tmp
        with SandboxProcess(directory=Path(tmp) / "sbx", env=env) as sandbox:
            os.environ.update(sandbox.env)
            os.environ["HOME"] = tmp
            body = make_transcript(args.mb)
            t = time.perf_counter()
            key = put_s3(body)
            took = time.perf_counter() - t
            print(f"transcript: {len(body) / 1e6:.1f} MB, put into S3 in {took:.1f} s")
            refs = [
                TranscriptRef("s3", PROFILE, REGION, SESSION, BUCKET, key, size=len(body)),
            ]
            if args.cloudwatch:
                t = time.perf_counter()
                put_cloudwatch(body)
                print(f"           put into CloudWatch in {time.perf_counter() - t:.1f} s")
                refs.append(TranscriptRef("cloudwatch", PROFILE, REGION, SESSION, GROUP, SESSION))

            firsts: dict[str, float] = {}
            for ref in refs:
                cold, warm, base = [], [], []
                loaded = 0
                for _ in range(args.runs):
                    forget_sessions()  # every run builds its clients, as a fresh viewer does
                    first, second, loaded = asyncio.run(viewer_first_frame(ref))
                    cold.append(first)
                    warm.append(second)
                    base.append(
                        baseline_first_page(
                            ref.source, key, logs_mod.FIRST_PAGE_BYTES, logs_mod.FIRST_PAGE_EVENTS
                        )
                    )
                cold_med, warm_med = statistics.median(cold), statistics.median(warm)
                base_med = statistics.median(base)
                firsts[ref.source] = cold_med
                size_mb = len(body) / 1e6
                print(f"\n[{ref.source}] {size_mb:.0f} MB transcript, median of {args.runs}")
                verdict = "PASS" if cold_med < 1.0 else "FAIL"
                read_kb = f"(read {loaded / 1024:.0f} KB)"
                print(f"  viewer, cold: open -> first frame {cold_med * 1000:8.1f} ms"
                      f"   {read_kb}   target < 1000 ms: {verdict}")  # fmt: skip
                print(f"  viewer, warm: open -> first frame {warm_med * 1000:8.1f} ms")
                print(f"  baseline: boto3 first page        {base_med * 1000:8.1f} ms")
                print(f"  ratio cold / baseline             {cold_med / base_med:8.1f}x")
                print(f"  ratio warm / baseline             {warm_med / base_med:8.1f}x")
            whole = statistics.median(whole_object(key) for _ in range(min(args.runs, 3)))
            print(f"\n  reference: read + split whole   {whole * 1000:8.1f} ms "
                  f"(a read-then-show viewer; lazy opening is "
                  f"{whole / firsts['s3']:.1f}x faster on S3)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
