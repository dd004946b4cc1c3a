"""`y` copies an instance id, private IP, name or session id: OSC 52 and the system clipboard.

No desktop runs here, so the system clipboard tool is a stand-in script named `xclip` on PATH
(the one part that cannot run for real); the app finds it as it would find xclip, runs it
with the text on stdin, and the script keeps what it read.
"""

from __future__ import annotations

import os
import stat

from ssm_tui.ui import clipboard
from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.copy import CopyMenu

from .conftest import SIZE, filter_to, main_screen, only_profile, open_session, wait_until


def fake_xclip(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = tmp_path / "clipboard.txt"
    script = bin_dir / "xclip"
    script.write_text(f'#!/bin/sh\n[ "$1 $2" = "-selection clipboard" ] || exit 2\ncat > {out}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return out


def test_the_system_tool_follows_the_desktop(tmp_path, monkeypatch):
    fake_xclip(tmp_path, monkeypatch)
    assert clipboard.system_tool()[1:] == ["-selection", "clipboard"]
    assert clipboard.system_tool({"PATH": os.environ["PATH"]}) is None  # no DISPLAY: OSC 52 only


async def test_copy_instance_id_ip_and_session_id(sandbox_env, tmp_path, monkeypatch):
    out = fake_xclip(tmp_path, monkeypatch)
    app = SsmTuiApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        fleet = screen.fleet
        instance = fleet.model.rows[fleet.table.cursor_key].instance
        assert instance.ip_address

        await pilot.press("y")
        assert isinstance(app.screen, CopyMenu)
        await pilot.press("i")
        await wait_until(pilot, lambda: out.exists() and out.read_text(), "xclip got it")
        assert app.clipboard == instance.instance_id  # OSC 52
        assert out.read_text() == instance.instance_id  # the system clipboard
        assert any("xclip and OSC 52" in str(n.message) for n in app._notifications)

        await pilot.press("y", "a")
        await wait_until(pilot, lambda: out.read_text() == instance.ip_address, "the IP")
        assert app.clipboard == instance.ip_address

        view = await open_session(pilot, 1)
        await pilot.press("ctrl+right_square_bracket", "y", "s")
        await wait_until(pilot, lambda: out.read_text() == view.started.session_id, "session id")
        assert app.clipboard == view.started.session_id
        await pilot.press("y", "escape")  # nothing copied
        assert not isinstance(app.screen, CopyMenu)
        assert out.read_text() == view.started.session_id
        await pilot.press("ctrl+q", "y")
        await wait_until(pilot, lambda: not app.is_running, "quit")
