"""The last selection and filter come back next run; favourites from the settings (issue 15)."""

from __future__ import annotations

import json

from textual.widgets import Input

from ssm_tui.ui import ui_state
from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.widgets.line import Line

from .conftest import SIZE, main_screen, only_profile, wait_for_fleet, wait_until


async def test_the_last_profile_selection_and_filter_come_back(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        await only_profile(pilot, "dev")
        fleet = await wait_for_fleet(pilot)
        await pilot.press("slash", *"web", "enter")
        await wait_until(pilot, lambda: fleet.model.query.text == "web", "filter")
        await wait_until(pilot, lambda: ui_state.load().filter == "web", "state saved")
        await pilot.press("ctrl+q")
    saved = json.loads(ui_state.state_path().read_text())
    assert saved == {"profiles": ["dev"], "regions": [], "filter": "web"}

    again = SsmTuiApp()
    async with again.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(again)
        assert screen.selected == ("dev",)
        assert {scope.profile for scope in fleet.scopes} == {"dev"}
        assert fleet.query_one("#filter", Input).value == "web"
        await wait_until(pilot, lambda: fleet.model.query.text == "web", "filter applied")
        await pilot.press("ctrl+q")


async def test_remember_selection_off_starts_with_every_profile(sandbox_env, monkeypatch):
    ui_state.save(ui_state.UiState(("dev",), (), "web"))
    monkeypatch.setenv("SSM_TUI_REMEMBER_SELECTION", "false")
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        assert set(screen.selected) == {p.name for p in screen.profiles}
        assert fleet.model.query.text == ""
        await pilot.press("ctrl+q")


async def test_a_broken_state_file_is_ignored(sandbox_env):
    path = ui_state.state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert ui_state.load() == ui_state.UiState()
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_fleet(pilot)
        screen = main_screen(app)
        assert set(screen.selected) == {p.name for p in screen.profiles}
        await pilot.press("ctrl+q")


async def test_favourites_from_the_settings(sandbox_env, monkeypatch):
    monkeypatch.setenv("SSM_TUI_FAVOURITES", json.dumps(["dev", ["prod", "sandbox"], "gone"]))
    app = SsmTuiApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        line = screen.query_one("#favourites", Line)
        await wait_until(pilot, lambda: "prod+sandbox" in str(line.render()), "favourites drawn")
        shown = str(line.render())
        assert shown.index(" 1 dev") < shown.index(" 2 prod+sandbox") < shown.index(" 3 gone")
        await pilot.press("2")
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
        assert set(screen.selected) == {"prod", "sandbox"}
        await pilot.press("1")
        assert screen.selected == ("dev",)
        await pilot.press("3")  # names no profile of the config: says so, changes nothing
        assert screen.selected == ("dev",)
        assert any("Favourite 3" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+q")
