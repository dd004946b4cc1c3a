"""Broadcast mode: typed once, received by every selected tab, through two real sandbox shells.

Two shell tabs on two Linux instances and a port-forward tab. `B` turns broadcast on with both
shells selected (never the forward): a banner says so and both tabs are marked. A command typed
once in one pane runs in both shells (its marker appears in both panes' output, computed by each
shell so the echo of the typed line alone cannot pass); `b` takes a tab out, and `B` turns it off.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.broadcast import BANNER_CLASS
from ssm_tui.ui.services import DocumentChoice
from ssm_tui.ui.widgets.session_view import SessionView

from .conftest import main_screen, wait_for_fleet, wait_until

SIZE = (160, 40)


def _text(view: SessionView) -> str:
    return view.pane.screen_text() if view.pane is not None else ""  # type: ignore[attr-defined]


async def test_keys_typed_once_reach_every_selected_shell(sandbox_env: Any) -> None:
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        await pilot.press("slash", *"profile:prod platform:linux status:online", "enter")
        await wait_until(pilot, lambda: fleet.table.row_count >= 2, "two Linux instances")
        keys = fleet.table.visible_keys()
        first, second = (fleet.model.rows[k].instance for k in keys[:2])
        opened: list[SessionView] = []
        for instance in (first, second):  # one at a time: a tab's pane starts once it is shown
            screen.open_session(instance, DocumentChoice())
            await wait_until(
                pilot, lambda: len(screen.query(SessionView)) == len(opened) + 1, "a new tab"
            )
            opened.append(list(screen.query(SessionView))[-1])
            await wait_until(pilot, lambda: "$" in _text(opened[-1]), "a prompt")
        forward = DocumentChoice(
            "AWS-StartPortForwardingSession",
            {"portNumber": ["22"], "localPortNumber": ["0"]},
            label="port 0→22",
            local_port=0,
        )
        screen.open_session(first, forward)
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 3, "three tabs")
        one, two, port = list(screen.query(SessionView))
        await wait_until(pilot, lambda: port.pane is not None, "the forward's pane")

        screen.tabs.active = "tab-" + (one.id or "").removeprefix("session-")
        await wait_until(pilot, lambda: app.focused is one.pane, "the first shell")
        await pilot.press("ctrl+right_square_bracket", "B")
        banner = one.query_one(f".{BANNER_CLASS}", Static)
        shown = str(banner.render())
        assert "BROADCAST" in shown and "go to all 2" in shown
        assert one.title in shown and two.title in shown and port.title not in shown
        marked = {"tab-" + (v.id or "").removeprefix("session-") for v in (one, two)}
        assert screen.tabs.marked == marked  # the port-forward tab is not marked
        assert "⇶" in screen.tabs._labels().plain

        await pilot.press("enter")  # back into the first pane
        await wait_until(pilot, lambda: app.focused is one.pane, "into the pane")
        await pilot.press(*"echo BCAST-$((6*7))-$HOSTNAME", "enter")
        await wait_until(
            pilot,
            lambda: "BCAST-42-" in _text(one) and "BCAST-42-" in _text(two),
            "the marker in both panes",
        )

        # the port-forward tab cannot be added; the second shell can be taken out
        await pilot.press("ctrl+right_square_bracket", "alt+4", "ctrl+right_square_bracket")
        await wait_until(pilot, lambda: screen._active_view() is port, "the forward tab")
        await pilot.press("b")
        assert screen.tabs.marked == marked
        await pilot.press("alt+3")
        await wait_until(pilot, lambda: screen._active_view() is two, "the second tab")
        await pilot.press("ctrl+right_square_bracket", "b")
        assert screen.tabs.marked == {"tab-" + (one.id or "").removeprefix("session-")}
        await pilot.press("alt+2")
        await wait_until(pilot, lambda: app.focused is one.pane, "the first shell again")
        await pilot.press(*"echo SOLO-$((5*5))", "enter")
        await wait_until(pilot, lambda: "SOLO-25" in _text(one), "SOLO in the first pane")
        await pilot.press("ctrl+right_square_bracket", "alt+3", "enter")
        await wait_until(pilot, lambda: app.focused is two.pane, "the second shell")
        await pilot.press(*"echo AFTER-$((2+2))", "enter")  # typed in a tab not selected
        await wait_until(pilot, lambda: "AFTER-4" in _text(two), "AFTER in the second pane")
        assert "SOLO-25" not in _text(two)  # the shell runs its input in order: it never came
        assert "AFTER-4" not in _text(one)

        await pilot.press("ctrl+right_square_bracket", "B")  # off
        assert not screen.query(f".{BANNER_CLASS}")
        assert screen.tabs.marked == frozenset()
        assert one.pane.typed is None and two.pane.typed is None  # type: ignore[union-attr]
        await app.action_quit()
