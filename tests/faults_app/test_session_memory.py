"""A closed session's widgets are freed (issue 13: the app grew ~0.83 MB per session opened and
closed). `benchmarks/memory_sessions.py` found every closed SessionView alive after the loop,
held by Textual's per-node `query_one` cache: the screen looked each tab up by its id, ids are
never reused, so each lookup pinned that session's view (its pane, emulator and caches) in the
cache for good (up to its 1,024 entries)."""

from __future__ import annotations

import gc
import weakref

import pytest

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.widgets.fleet_view import FleetView
from ssm_tui.ui.widgets.session_view import SessionView
from tests.ui.conftest import fleet_of, wait_until
from tests.ui.test_app import SIZE, open_first_linux_session


@pytest.mark.parametrize("late_cache", [False, True], ids=["cache-read-first", "cache-read-late"])
async def test_closed_session_views_are_freed(sandbox_env, monkeypatch, late_cache) -> None:  # type: ignore[no-untyped-def]
    """`late_cache`: the fleet's cache read ends after a session opened (a loaded machine), so
    the fleet's `gc.freeze` of its start-up objects comes while a session view is alive."""
    monkeypatch.setenv("SSM_TUI_CONFIRM_CLOSE", "false")  # ctrl+w closes at once, no question
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        screen, view = await open_first_linux_session(pilot)
        fleet = fleet_of(app)
        assert fleet is not None
        if late_cache:
            if fleet._froze:  # the read ended first here: undo, and let it end now
                gc.unfreeze()
                fleet._froze = False
            fleet._freeze_fleet()
        instance = view.started and fleet.table.cursor_row.instance
        closed: list[weakref.ref[SessionView]] = []
        for _ in range(2):
            session_id = view.started.session_id
            closed.append(weakref.ref(view))
            screen.action_close_tab()
            await wait_until(pilot, lambda: not screen.query(SessionView), "the tab closed")
            await wait_until(pilot, lambda s=session_id: s not in app.live_sessions, "ended")
            fleet.post_message(FleetView.ConnectRequested(instance, choose=False))
            await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "a new tab")
            view = screen.query(SessionView).first()
            await wait_until(
                pilot, lambda v=view: v.pane is not None and "$" in v.pane.screen_text(), "prompt"
            )
        del view
        await pilot.pause(0.2)
        gc.collect()
        assert [ref() for ref in closed] == [None, None]
        await pilot.press("ctrl+right_square_bracket", "ctrl+q")
