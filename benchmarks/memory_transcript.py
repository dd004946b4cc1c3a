"""App RSS with a large transcript open (issue 13: `seq 1 3000000`, 24.7 MB, took 741 MB in the
lines view read to the end, and gigabytes in the screen view).

A sandbox holds the transcript in S3 where Session Manager writes it; a headless app (Pilot) opens
the viewer on it, reads the lines view to the end (`end`, as `G`), then replays the screen view
(`e`) to the end. Printed: RSS of the app before opening (the baseline, same run), after the
lines view reached the end, after the screen replay, and the process's peak; each as MB over the
baseline and as a ratio to the transcript's size.

Run: .venv/bin/python benchmarks/memory_transcript.py [--lines 3000000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _timing import bench_sandbox  # noqa: E402  (benchmarks/_timing.py)

PROFILE, REGION, ACCOUNT = "sandbox", "us-east-1", "111111111111"
BUCKET = f"acme-ssm-sessions-{ACCOUNT}-{REGION}"
SESSION = "alice-00000000000memory"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def until(pilot, condition, what: str, timeout: float = 600.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for: {what}")
        await pilot.pause(0.05)


async def measure(ref, warm_ref, size: int) -> None:  # type: ignore[no-untyped-def]
    from textual.app import App

    from ssm_tui.services import Services
    from ssm_tui.ui.screens.transcript import TranscriptScreen, TranscriptView

    styles = ROOT / "ssm_tui" / "ui" / "styles"

    class Host(App[None]):
        """Holds a services object, as the app does: the viewer reads on its AWS loop."""

        CSS_PATH = [styles / "transcript.tcss"]

        def __init__(self) -> None:
            super().__init__()
            self.services = Services(store=False)

        def on_unmount(self) -> None:
            self.services.aws.stop()

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # the viewer once on a one-line transcript: the S3 client and the viewer's modules are
        # loaded before the baseline, so the figures below are the transcript's own
        warm = TranscriptScreen(warm_ref)
        await app.push_screen(warm)
        await until(pilot, lambda w=warm: w.document.complete, "the one-line transcript")
        app.pop_screen()
        await pilot.pause()
        del warm
        gc.collect()
        base = rss_mb()
        viewer = TranscriptScreen(ref)
        await app.push_screen(viewer)
        await until(pilot, lambda: len(viewer.document) > 0, "first page")
        started = time.monotonic()
        while not viewer.document.complete:
            await pilot.press("end")
            await until(
                pilot,
                lambda: viewer.document.complete or not viewer._wanted.is_set(),
                "reader idle",
            )
        gc.collect()
        lines_rss = rss_mb()
        lines_took = time.monotonic() - started
        view = viewer.query_one(TranscriptView)
        started = time.monotonic()
        await pilot.press("e")
        await until(pilot, lambda: not view.replaying, "the replay")
        gc.collect()
        screen_rss = rss_mb()
        screen_took = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        mb = size / 1e6
        print(f"transcript: {mb:.1f} MB, {len(viewer.document):,} lines")
        print(
            f"baseline (app running, viewer opened once on a 1-line transcript): RSS {base:.1f} MB"
        )
        for name, value, took in (
            ("lines view read to the end", lines_rss, lines_took),
            ("screen view replayed to the end", screen_rss, screen_took),
        ):
            grown = value - base
            print(
                f"{name}: RSS {value:.1f} MB (+{grown:.1f} MB over baseline, "
                f"{grown / mb:.2f}x the transcript) in {took:.1f} s"
            )
        print(f"peak RSS of the process: {peak:.1f} MB (+{peak - base:.1f} MB over baseline)")
        await pilot.press("escape")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3_000_000, help="`seq 1 N` output")
    args = parser.parse_args()
    from ssm_tui.aws.models.logs import TranscriptRef

    with bench_sandbox("ssm-tui-memory-transcript-", in_process=True):
        import boto3

        body = "".join(f"{i}\r\n" for i in range(1, args.lines + 1)).encode()
        key = f"session-logs/{SESSION}.log"
        s3 = boto3.Session(profile_name=PROFILE, region_name=REGION).client("s3")
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        size = len(body)
        del body, s3
        gc.collect()
        ref = TranscriptRef("s3", PROFILE, REGION, SESSION, BUCKET, key, size=size)
        warm_key = f"session-logs/{SESSION}-warm.log"
        boto3.Session(profile_name=PROFILE, region_name=REGION).client("s3").put_object(
            Bucket=BUCKET, Key=warm_key, Body=b"1\r\n"
        )
        warm = TranscriptRef("s3", PROFILE, REGION, SESSION + "-warm", BUCKET, warm_key, size=3)
        asyncio.run(measure(ref, warm, size))


if __name__ == "__main__":
    main()
