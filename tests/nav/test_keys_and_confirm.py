"""Moving around sessions (issue 15): back into a pane, alt+N, the footer in a pane, confirmations.

Real sandbox, real plugin (ours) in real ptys running real shells.
"""

from __future__ import annotations

import boto3

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.confirm import ConfirmScreen
from ssm_tui.ui.widgets.key_bar import KeyBar
from ssm_tui.ui.widgets.session_view import SessionView
from ssm_tui.ui.widgets.terminal import RELEASE_KEY

from .conftest import SIZE, filter_to, main_screen, only_profile, open_session, wait_until


def footer_keys(app: SsmTuiApp) -> set[str]:
    bar = main_screen(app).query_one(KeyBar)
    bar.render()  # draws `spans` as the screen shows them now
    return {span.key for span in bar.spans}


async def test_back_into_the_pane_tab_numbers_and_a_footer_of_working_keys(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        one = await open_session(pilot, 1)
        await pilot.press(RELEASE_KEY, "escape", "down")
        two = await open_session(pilot, 2)

        # inside a pane the footer lists only keys that work there (priority bindings)
        assert app.focused is two.pane
        keys = footer_keys(app)
        assert RELEASE_KEY in keys and "ctrl+pagedown" in keys
        assert not keys & {"p", "h", "l", "v", "question_mark", "ctrl+q", "ctrl+p"}, keys
        await pilot.press("p", "h")  # …and those keys type into the shell
        await wait_until(pilot, lambda: "ph" in two.pane.screen_text(), "ph typed")
        await pilot.press("ctrl+u")

        # ctrl+] then i (or Enter) goes back into the same pane
        await pilot.press(RELEASE_KEY)
        assert app.focused is screen.tabs
        assert {"p", "question_mark", "ctrl+q"} <= footer_keys(app)
        await pilot.press("i")
        assert app.focused is two.pane
        await pilot.press(RELEASE_KEY, "enter")
        assert app.focused is two.pane

        # alt+N: 1 is the fleet, then the sessions in tab order; beyond the last, nothing
        await pilot.press(RELEASE_KEY, "alt+1")
        assert screen.tabs.active == "tab-fleet" and app.focused is screen.fleet.table
        await pilot.press("alt+2")
        assert one.display and app.focused is one.pane
        await pilot.press(RELEASE_KEY, "alt+3")
        assert two.display and app.focused is two.pane
        await pilot.press(RELEASE_KEY, "alt+9")
        assert screen.tabs.active != "tab-fleet" and two.display

        # ctrl+w on a live session asks; n keeps it, ctrl+w again ends it
        await pilot.press("ctrl+w")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert len(screen.query(SessionView)) == 2 and two.state == "connected"
        await pilot.press("ctrl+w", "ctrl+w")
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "tab 2 closed")
        await wait_until(pilot, lambda: len(app.live_sessions) == 1, "its session ended")

        # ctrl+q with a live session asks; Escape keeps going, y quits
        started = one.started
        await pilot.press(RELEASE_KEY, "ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.query_one("#confirm-question").render()
        assert "End the session and quit?" in str(question)
        await pilot.press("escape")
        assert app.is_running and one.state == "connected"
        await pilot.press("ctrl+q", "y")
        await wait_until(pilot, lambda: not app.is_running, "quit")
    assert not app.live_sessions
    ssm = boto3.Session(profile_name=started.profile, region_name=started.region).client("ssm")
    active = ssm.describe_sessions(State="Active")["Sessions"]
    assert started.session_id not in {s["SessionId"] for s in active}


async def test_an_ended_session_closes_without_asking_and_the_setting_turns_asking_off(
    sandbox_env, monkeypatch
):
    monkeypatch.setenv("SSM_TUI_CONFIRM_CLOSE", "false")
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        await open_session(pilot, 1)
        await pilot.press(RELEASE_KEY, "ctrl+w")  # setting off: no question
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_until(pilot, lambda: not screen.query(SessionView), "tab closed")
        await wait_until(pilot, lambda: not app.live_sessions, "session ended")
        await open_session(pilot, 1)
        await pilot.press(RELEASE_KEY, "ctrl+q")
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_until(pilot, lambda: not app.is_running, "quit at once")
    assert not app.live_sessions
