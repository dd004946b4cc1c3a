"""Copy text to the clipboard: OSC 52 through the terminal, and the system clipboard too.

Textual's `App.copy_to_clipboard` writes OSC 52, which a terminal may ignore (tmux without
`set-clipboard`, many SSH setups, some terminals off by default); where a clipboard tool is
installed for the desktop the app runs on, it is given the text as well: `wl-copy` under
Wayland, `xclip` or `xsel` under X11, `pbcopy` on macOS. The tool runs off the UI loop, with the
text on its stdin (never on a command line), and a failing tool is only logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

TOOL_WAIT = 5.0
"""Seconds a clipboard tool may take (xclip stays to serve the selection: it forks first)."""


def system_tool(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The command that sets the system clipboard here, if one is installed."""
    env = os.environ if env is None else env
    path = env.get("PATH")
    candidates: list[list[str]] = []
    if sys.platform == "darwin":
        candidates.append(["pbcopy"])
    if env.get("WAYLAND_DISPLAY"):
        candidates.append(["wl-copy"])
    if env.get("DISPLAY"):
        candidates += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    for argv in candidates:
        found = shutil.which(argv[0], path=path)
        if found:
            return [found, *argv[1:]]
    return None


async def copy_to_system(text: str, argv: list[str]) -> bool:
    """Give `text` to the clipboard tool; True when it took it."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        log.warning("clipboard tool %s did not start: %s", argv[0], exc)
        return False
    try:
        await asyncio.wait_for(process.communicate(text.encode()), TOOL_WAIT)
    except TimeoutError:
        process.kill()
        await process.wait()
        log.warning("clipboard tool %s timed out", argv[0])
        return False
    return process.returncode == 0


async def copy(app: App[Any], text: str) -> str:
    """OSC 52 now, the system clipboard too when a tool exists; says where the text went."""
    app.copy_to_clipboard(text)
    argv = system_tool()
    if argv is None:
        return "terminal clipboard (OSC 52)"
    if await copy_to_system(text, argv):
        return f"clipboard ({os.path.basename(argv[0])} and OSC 52)"
    return "terminal clipboard (OSC 52); the system clipboard tool failed"
