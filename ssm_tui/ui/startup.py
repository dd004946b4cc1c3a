"""Start-up without garbage collection: paused by `ssm-tui` until the first frame.

Start-up allocates hundreds of thousands of long-lived objects (Textual's classes, the widgets,
2,000 cached rows) and the full collections they trigger find nothing to free: measured with
`benchmarks/app.py`, they were a third of the time to the first frame. `ssm-tui` pauses the
cyclic GC before importing the UI (`commands.app.build_app`); the main screen resumes it after
its first frame, freezing what start-up built so later collections never scan it again.
Reference counting frees memory as usual meanwhile; only cycles wait.
"""

from __future__ import annotations

import gc
import threading

_paused = False
FIRST_FRAME = threading.Event()
"""Set once the main screen drew its first frame (`resume_gc`): work kept off start-up, such as
the demo's seeded month, waits on it."""


def pause_gc() -> None:
    """Turn the cyclic GC off until `resume_gc` (called by the app after its first frame)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """Freeze start-up's objects and turn the GC back on; only undoes `pause_gc`.

    Tests and embedders that never paused keep their GC as it was: a freeze there would pin
    every test app's objects for the rest of the run.
    """
    global _paused
    FIRST_FRAME.set()
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
