"""The app against the real sandbox: fleet, filter, switching, two sessions, close, quit.

Everything is real: the sandbox process on loopback, the inventory service, StartSession, our
plugin in a real pty running a real shell. At the end no plugin process and no Active session
may remain (DescribeSessions through boto3, the way an operator would check).
"""

from __future__ import annotations

import asyncio
import os

import boto3
import pytest
from textual.widgets import Input

from ssm_tui.store import Store
from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.document import DocumentPicker
from ssm_tui.ui.screens.picker import ScopePicker
from ssm_tui.ui.widgets.session_view import SessionView
from tests.app_steps import show_linux_instances

from .conftest import fleet_of, main_screen, wait_for_fleet, wait_until

SIZE = (140, 40)


def palette_highlight(app: SsmTuiApp) -> str | None:
    """The text of the command palette's highlighted hit (None: no palette, or no hit yet)."""
    from textual.command import Command, CommandList, CommandPalette

    if not isinstance(app.screen, CommandPalette):
        return None
    hits = app.screen.query_one(CommandList)
    if hits.highlighted is None:
        return None
    option = hits.get_option_at_index(hits.highlighted)
    return str(option.hit.text) if isinstance(option, Command) else None


def visible_rows(fleet):  # noqa: ANN001, ANN201
    return [fleet.model.rows[k] for k in fleet.table.visible_keys()]


def table_text(fleet) -> str:  # noqa: ANN001
    """What the table's lines show on screen (rendered strips, not the model)."""
    return "\n".join(fleet.table.render_line(y).text for y in range(fleet.table.size.height))


@pytest.mark.slow
async def test_fleet_lists_every_profile_then_filters_and_switches(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        profiles = {scope.profile for scope in fleet.scopes}
        assert set(sandbox_env.profiles) <= profiles  # first start: every profile of the config
        assert not fleet.progress.errors
        assert {r.instance.ping_status for r in visible_rows(fleet)} == {"Online"}  # default view
        assert {r.instance.profile for r in fleet.model.rows.values()} >= {"sandbox", "prod", "dev"}

        # filter as you type: markup in a name is shown literally, not interpreted
        await pilot.press("slash", *"red]web-3")
        await wait_until(pilot, lambda: fleet.model.query.text == "red]web-3", "filter applied")
        assert {r.instance.name for r in visible_rows(fleet)} == {"[bold red]web-3[/]"}
        assert "[bold red]web-3[/]" in table_text(fleet)
        await pilot.press("escape", "escape")  # clear, then back to the table
        assert fleet.query_one(Input).value == ""

        # tag with an escape sequence, literally (ESC shown as ^[), status term shows offline
        await pilot.press("slash", *"tag:note=red status:lost")
        await wait_until(pilot, lambda: "lost" in fleet.model.query.text, "tag filter")
        assert {r.instance.name for r in visible_rows(fleet)} == {"warehouse-scanner"}
        assert "warehouse-scanner" in table_text(fleet)
        await pilot.press("escape", "escape", "a")  # all statuses
        assert not fleet.model.online_only

        # one key switches to a single profile (favourites: profiles in config order)
        screen = main_screen(app)
        number = [p.name for p in screen.profiles].index("dev") + 1
        await pilot.press(str(number))
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh of dev")
        assert {r.instance.profile for r in visible_rows(fleet)} == {"dev"}

        # the picker: untick all, tick the prod account (all of its profiles), apply
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ScopePicker), "picker")
        picker = app.screen
        await wait_until(pilot, lambda: picker.accounts, "accounts resolved")
        await pilot.press("ctrl+u", *"222222222222", "down", "space", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ScopePicker), "picker closed")
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh of prod")
        prod_account = next(a for a in picker.accounts if a.account_id == "222222222222")
        assert set(screen.selected) == set(prod_account.profiles)  # incl. discovered SSO roles
        assert {"prod", "prod-readonly"} <= set(screen.selected)
        assert {r.instance.account_id for r in visible_rows(fleet)} == {"222222222222"}

        # cached: a new app draws the fleet before any AWS call answers
    second = SsmTuiApp()
    async with second.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: fleet_of(second) is not None, "fleet view")
        assert fleet_of(second).model.rows  # from the store, drawn in on_mount
        assert Store().load_inventory()


@pytest.mark.slow
async def test_sessions_two_tabs_echo_resize_split_close_and_quit(sandbox_env):
    app = SsmTuiApp()
    pids: list[int] = []
    started = []
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        number = [p.name for p in screen.profiles].index("sandbox") + 1
        await pilot.press(str(number))  # one profile (management account, us-east-1)
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
        await pilot.press("slash", *"platform:linux", "enter")  # a bash prompt on both
        await wait_until(pilot, lambda: fleet.table.row_count >= 2, "two online Linux instances")

        await pilot.press("enter")  # first session
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "tab 1")
        one = screen.query(SessionView).first()
        await wait_until(pilot, lambda: one.pane is not None and "$" in one.pane.screen_text(),
                         "prompt in tab 1")  # fmt: skip

        await pilot.press("ctrl+right_square_bracket", "escape")  # leave the pane, fleet tab
        await wait_until(pilot, lambda: screen.tabs.active == "tab-fleet", "fleet tab")
        await pilot.press("down", "enter")  # second session on another instance
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 2, "tab 2")
        two = list(screen.query(SessionView))[1]
        await wait_until(pilot, lambda: two.pane is not None and "$" in two.pane.screen_text(),
                         "prompt in tab 2")  # fmt: skip
        assert one.instance.instance_id != two.instance.instance_id

        await pilot.press(*"echo hi", "enter")  # typed into the focused pane (tab 2)
        await wait_until(pilot, lambda: "\nhi\n" in two.pane.screen_text() + "\n", "hi")
        assert "\nhi\n" not in one.pane.screen_text() + "\n"

        await pilot.resize_terminal(110, 30)  # the remote pty follows the pane
        await pilot.pause(0.3)
        await pilot.press(*"stty size", "enter")
        cols, rows = two.pane.content_size.width, two.pane.content_size.height
        await wait_until(pilot, lambda: f"{rows} {cols}" in two.pane.screen_text(), "stty size")

        await pilot.press("ctrl+right_square_bracket", "v")  # split: both sessions shown
        assert one.display and two.display
        assert app.focused is two.pane
        await pilot.press("ctrl+right_square_bracket")  # back to the app, not the other pane
        assert app.focused is screen.tabs
        await pilot.press("ctrl+pageup")  # the other session's pane takes the keyboard
        assert app.focused is one.pane
        await pilot.press("ctrl+right_square_bracket")
        assert app.focused is screen.tabs
        await pilot.press("ctrl+pagedown")
        assert app.focused is two.pane

        pids = [v.pane.process.pid for v in (one, two)]
        started = [v.started for v in (one, two)]
        assert set(app.live_sessions) == {s.session_id for s in started}
        await pilot.press("ctrl+right_square_bracket", "ctrl+w", "y")  # close the active tab
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "tab closed")
        await wait_until(pilot, lambda: len(app.live_sessions) == 1, "first session ended")

        await wait_until(pilot, lambda: app.focused is one.pane, "the other pane focused")
        await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")  # quit ends the other one
        await wait_until(pilot, lambda: not app.is_running or not app.live_sessions, "quit")

    assert not app.live_sessions
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # a zombie is reaped by the pty layer; anything else is a leftover plugin
        with open(f"/proc/{pid}/stat") as stat:
            assert stat.read().split()[2] == "Z", f"plugin {pid} still running"
    for s in started:
        ssm = boto3.Session(profile_name=s.profile, region_name=s.region).client("ssm")
        active = ssm.describe_sessions(State="Active")["Sessions"]
        assert s.session_id not in {a["SessionId"] for a in active}
    local = {r.session_id: r for r in Store().local_sessions()}
    assert all(s.session_id in local and local[s.session_id].ended_at for s in started)


async def test_access_denied_is_a_notification_with_the_next_step(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        number = [p.name for p in screen.profiles].index("prod-readonly") + 1
        await pilot.press(str(number))
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
        await pilot.press("slash", *"tag:restricted=true", "enter")
        await wait_until(pilot, lambda: fleet.table.row_count >= 1, "restricted instance")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: any(n.severity == "error" for n in app._notifications), "notification"
        )
        note = next(n for n in app._notifications if n.severity == "error")
        assert "Could not connect" in note.title
        assert "→" in note.message  # the next step
        await wait_until(pilot, lambda: not screen.query(SessionView), "failed tab removed")
        assert screen.tabs.active == "tab-fleet"
        await pilot.press("down")  # still usable
        assert not app.live_sessions


async def open_first_linux_session(pilot, profile: str = "sandbox"):  # noqa: ANN001, ANN201
    _fleet, screen = await show_linux_instances(pilot, profile)
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "a session tab")
    view = screen.query(SessionView).first()
    await wait_until(pilot, lambda: view.pane is not None and "$" in view.pane.screen_text(),
                     "a prompt")  # fmt: skip
    return screen, view


@pytest.mark.slow
async def test_login_command_and_reconnect_after_the_plugin_dies(sandbox_env, tmp_path):
    """The login command setting is typed on connect; a killed plugin → exit status, `r`."""
    settings = tmp_path / "ssm-tui.toml"
    settings.write_text('login_command = "export LOGIN_MARK=ok; echo login-$LOGIN_MARK"\n')
    os.environ["SSM_TUI_CONFIG"] = str(settings)
    try:
        app = SsmTuiApp()
        async with app.run_test(size=SIZE) as pilot:
            screen, view = await open_first_linux_session(pilot)
            await wait_until(pilot, lambda: "login-ok" in view.pane.screen_text(), "login ran")
            first = view.started
            os.kill(view.pane.process.pid, 9)  # the plugin dies
            await wait_until(pilot, lambda: view.state == "ended", "ended state")
            assert view.exit_status == -9
            assert "exit status -9" in view.query_one(".session-title").render().plain
            assert app.focused is view  # keys reach the view, not the dead pane
            await wait_until(pilot, lambda: first.session_id not in app.live_sessions,
                             "the dropped session terminated")  # fmt: skip
            await pilot.press("r")
            await wait_until(
                pilot,
                lambda: view.state == "connected" and view.started.session_id != first.session_id,
                "reconnected",
            )
            await wait_until(pilot, lambda: "login-ok" in view.pane.screen_text(), "login again")
            await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")
            await wait_until(pilot, lambda: not app.is_running, "quit")
        assert not app.live_sessions
    finally:
        del os.environ["SSM_TUI_CONFIG"]


@pytest.mark.slow
async def test_palette_switches_profile_and_document_picker_forwards_a_port(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        await pilot.press("ctrl+p", *"profile: sandbox")
        # Enter picks what the palette highlights: its search answers in its own time (late
        # under load), so wait for that hit, not for a fixed pause
        await wait_until(pilot, lambda: palette_highlight(app) == "profile: sandbox", "the hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.selected == ("sandbox",), "palette applied")
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
        await pilot.press("slash", *"platform:linux", "enter")
        await wait_until(pilot, lambda: fleet.table.row_count >= 1, "a Linux instance")

        await pilot.press("c")  # connect with…: port forwarding to the instance
        await wait_until(pilot, lambda: isinstance(app.screen, DocumentPicker), "the dialog")
        await pilot.click("#kind-port")
        await wait_until(pilot, lambda: app.screen.query_one("#row-ports").display, "ports")
        await pilot.click("#remote-port")
        await pilot.press(*"22")
        await pilot.click("#connect")
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "a port tab")
        view = screen.query(SessionView).first()
        await wait_until(pilot, lambda: view.started is not None, "StartSession")
        assert view.started.document_name == "AWS-StartPortForwardingSession"
        assert view.started.parameters["portNumber"] == ["22"]
        await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")  # a live port tab: confirm
        await wait_until(pilot, lambda: not app.is_running, "quit")
    assert not app.live_sessions


async def test_refresh_keeps_cursor_sort_and_filter(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        await pilot.press("s", "s", "a", "slash", *"prod", "enter", "down", "down", "down")
        key, shown = fleet.table.cursor_key, fleet.table.visible_keys()
        assert key is not None and len(shown) > 3
        before = fleet._refresh_id
        await pilot.press("r")  # a refresh, like the periodic one
        await wait_until(pilot, lambda: fleet._refresh_id > before and not fleet._refreshing,
                         "refresh finished")  # fmt: skip
        assert fleet.table.cursor_key == key
        assert fleet.table.visible_keys() == shown
        assert (fleet.model.sort_column, fleet.model.query.text) == ("account", "prod")


@pytest.mark.slow
async def test_quit_during_start_session_ends_the_session_it_opened(sandbox_env):
    """StartSession is slow (3 s latency); ctrl+q while it is in flight: nothing stays Active."""
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet, screen = await show_linux_instances(pilot)
        instance = visible_rows(fleet)[0].instance
        ssm = boto3.Session(profile_name=instance.profile, region_name=instance.region).client(
            "ssm"
        )

        def sessions(state: str) -> set[str]:
            filters = [{"key": "Target", "value": instance.instance_id}]
            found = ssm.describe_sessions(State=state, Filters=filters)["Sessions"]
            return {s["SessionId"] for s in found}

        before = sessions("Active") | sessions("History")
        sandbox_env.set_faults(latency_ms=3000)
        try:
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.sessions.starting, "StartSession sent")
            await pilot.pause(0.5)  # the request is at the sandbox, which answers in 3 s
            await pilot.press("ctrl+q", "y")  # a tab starting: confirm
            await wait_until(pilot, lambda: not app.is_running, "quit")
        finally:
            sandbox_env.reset_faults()
    assert not app.live_sessions
    # the session the slow StartSession created shows up (Active or ended); it must be ended
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not (sessions("Active") | sessions("History")) - before:
        assert loop.time() < deadline, "StartSession was abandoned (real AWS may still open it)"
        await asyncio.sleep(0.2)
    assert not sessions("Active") - before
