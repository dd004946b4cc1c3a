"""`ssm-tui --demo`: seed the sandbox's month of past sessions once the first frame is drawn.

The seeded month (`sandbox/audit_seed.py`: five people, three accounts, `sudo` in transcripts) is
what gives audit search, watch and history something to show on a first run. Seeding took 0.8 s
of the sandbox's start-up (measured at load ~14, `SandboxProcess.seed_audit_history`), so it is
not part of it: a thread waits for the first frame (`ui.startup.FIRST_FRAME`), asks the running
sandbox to seed, and tells the user in a notification when the data is there.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

DAYS = 30
FIRST_FRAME_WAIT = 120.0
"""Seconds the seeding waits for the first frame before it seeds anyway."""

log = logging.getLogger(__name__)


def seed_after_first_frame(app: Any, sandbox: Any, days: int = DAYS) -> threading.Thread:
    """Start the seeding thread (a daemon: quitting the demo never waits for it)."""

    def seed() -> None:
        from ssm_tui.ui.startup import FIRST_FRAME

        FIRST_FRAME.wait(FIRST_FRAME_WAIT)
        try:
            made = sandbox.seed_audit_history(days)
        except Exception:  # noqa: BLE001 - the demo still runs, without its past month
            log.warning("could not seed the demo's past sessions", exc_info=True)
            return
        message = (
            f"{made} past sessions of {days} days seeded: try audit search (A) for sudo, "
            "watch (W) and history"
        )
        try:
            app.call_from_thread(app.notify, message, title="Demo", timeout=8, markup=False)
        except Exception:  # noqa: BLE001 - the app quit meanwhile
            return

    thread = threading.Thread(target=seed, name="demo-seed", daemon=True)
    thread.start()
    return thread
