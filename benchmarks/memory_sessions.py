"""App memory over sessions opened and closed in a loop (issue 13: ~0.83 MB per session).

The real app (headless, Pilot) on a sandbox opens a shell tab on a Linux instance, waits for its
prompt, closes the tab (TerminateSession, plugin ended) and repeats `--sessions` times. Printed:
RSS after each close (after `gc.collect()`), the growth per session over the second half (the
first sessions warm caches: clients, styles, the emulator), open fds and child processes after
the loop, and with `--trace` the top tracemalloc differences between session `--trace` and the
last one (where the growth goes), grouped by line.

Run: .venv/bin/python benchmarks/memory_sessions.py [--sessions 20] [--trace 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _timing import bench_sandbox  # noqa: E402  (benchmarks/_timing.py)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children() -> int:
    me = str(os.getpid())
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == me
            ):
                count += 1
        except (OSError, IndexError):
            continue
    return count


async def wait(pilot, condition, what: str, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for: {what}")
        await pilot.pause(0.05)


async def loop(sessions: int, trace_from: int) -> None:
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.screens.main import MainScreen
    from ssm_tui.ui.widgets.fleet_view import FleetView
    from ssm_tui.ui.widgets.session_view import SessionView

    app = SsmTuiApp()
    figures: list[float] = []
    first_snapshot = None
    async with app.run_test(size=(140, 40)) as pilot:
        await wait(pilot, lambda: app.screen.query(FleetView), "the fleet")
        fleet = app.screen.query_one(FleetView)
        await wait(pilot, lambda: fleet.scopes and not fleet._refreshing, "first refresh")
        screen = next(s for s in app.screen_stack if isinstance(s, MainScreen))
        await pilot.press("slash", *"platform:linux", "enter")
        await wait(pilot, lambda: fleet.table.row_count >= 1, "a Linux instance")
        instance = fleet.table.cursor_row.instance
        gc.collect()
        start = rss_mb()
        print(f"app ready: RSS {start:.1f} MB, fds {len(os.listdir('/proc/self/fd'))}")
        for n in range(1, sessions + 1):
            fleet.post_message(FleetView.ConnectRequested(instance, choose=False))
            await wait(pilot, lambda: len(screen.query(SessionView)) == 1, "a session tab")
            view = screen.query(SessionView).first()
            await wait(
                pilot, lambda v=view: v.pane is not None and "$" in v.pane.screen_text(), "prompt"
            )
            session_id = view.started.session_id
            screen.action_close_tab()
            await wait(pilot, lambda: not screen.query(SessionView), "the tab closed")
            await wait(pilot, lambda s=session_id: s not in app.live_sessions, "terminated")
            gc.collect()
            figures.append(rss_mb())
            if trace_from and n == trace_from:
                tracemalloc.start(1)
                first_snapshot = tracemalloc.take_snapshot()
            print(f"session {n:2d}: RSS {figures[-1]:.1f} MB")
        gc.collect()
        last_snapshot = tracemalloc.take_snapshot() if first_snapshot is not None else None
        half = len(figures) // 2
        per = (figures[-1] - figures[half - 1]) / max(1, len(figures) - half)
        print(
            f"\n{sessions} sessions: RSS {start:.1f} -> {figures[-1]:.1f} MB; "
            f"{per:.3f} MB/session over sessions {half}-{sessions} "
            f"(first half: {(figures[half - 1] - start) / max(1, half):.3f} MB/session)"
        )
        print(
            f"after the loop: fds {len(os.listdir('/proc/self/fd'))}, children {children()}, "
            f"live sessions {len(app.live_sessions)}"
        )
        kept: dict[str, int] = {}
        for obj in gc.get_objects():  # widgets and panes of closed sessions still alive?
            kind = type(obj)
            if str(getattr(kind, "__module__", "")).startswith(("ssm_tui.", "textual.cache")):
                kept[f"{kind.__module__}.{kind.__qualname__}"] = (
                    kept.get(f"{kind.__module__}.{kind.__qualname__}", 0) + 1
                )
        print("live objects after the loop (ssm_tui classes, textual caches):")
        for name, count in sorted(kept.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {count:6d}  {name}")
        left = [o for o in gc.get_objects() if isinstance(o, SessionView)]
        if left and os.environ.get("WHO"):
            import types

            def describe(obj: object) -> str:
                if isinstance(obj, dict):
                    return "dict keys " + ",".join(map(str, list(obj)[:6]))
                if isinstance(obj, types.CoroutineType):
                    return f"coroutine {obj.cr_code.co_qualname} running={obj.cr_frame is not None}"
                if isinstance(obj, types.FrameType):
                    return f"frame {obj.f_code.co_filename}:{obj.f_lineno}"
                return type(obj).__qualname__

            print(f"{len(left)} SessionView left; attached: {[v.is_attached for v in left]}")
            for ref in gc.get_referrers(left[0]):
                if ref is left:
                    continue
                print("  held by", describe(ref))
                for ref2 in gc.get_referrers(ref)[:5]:
                    if ref2 is not left:
                        print("     which is held by", describe(ref2))
        if first_snapshot is not None and last_snapshot is not None:
            stats = last_snapshot.compare_to(first_snapshot, "lineno")
            grown = sum(s.size_diff for s in stats)
            print(
                f"\ntracemalloc, session {trace_from} -> {sessions}: {grown / 1e6:+.2f} MB "
                "(Python objects only); top lines:"
            )
            for stat in stats[:12]:
                print(
                    f"  {stat.size_diff / 1e3:+9.1f} KB {stat.count_diff:+6d} objs  "
                    f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}"
                )
            tracemalloc.stop()
        await pilot.press("ctrl+q")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--trace", type=int, default=5, help="tracemalloc from this session (0: off)"
    )
    args = parser.parse_args()
    with bench_sandbox("ssm-tui-memory-sessions-", in_process=True):
        os.environ["SSM_TUI_CONFIRM_CLOSE"] = "false"  # the loop closes live tabs: no question
        asyncio.run(loop(args.sessions, args.trace))


if __name__ == "__main__":
    main()
