"""Regenerate the README screenshots: the real app against a freshly started sandbox.

Run: `.venv/bin/python screenshots/generate.py [NAME ...]` (no name: every shot). Each shot is an
async function below that drives the app with Pilot and saves an SVG next to this file. A fixed
seed and a clock frozen 30 s after the sandbox started keep the pictures stable between runs.

To add a shot (e.g. the history panels), write `async def shot_NAME(pilot)` that leaves the app in
the state to photograph; `main()` finds it by its `shot_` prefix.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SIZE = (140, 40)
SEED = 7
ALIASES = {"111111111111": "acme-mgmt", "222222222222": "acme-prod", "333333333333": "acme-dev"}


async def until(pilot, condition: Callable[[], object], what: str, timeout: float = 60) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise SystemExit(f"screenshot gave up waiting for {what}")
        await pilot.pause(0.05)


def _fleet(app):  # noqa: ANN001, ANN202
    from ssm_tui.ui.widgets.fleet_view import FleetView

    for screen in app.screen_stack:
        found = screen.query(FleetView)
        if found:
            return found.first()
    return None


def _main(app):  # noqa: ANN001, ANN202
    from ssm_tui.ui.screens.main import MainScreen

    return next(s for s in app.screen_stack if isinstance(s, MainScreen))


async def ready(pilot):  # noqa: ANN001, ANN201
    """The first refresh is done (every profile reported)."""
    await until(
        pilot,
        lambda: (f := _fleet(pilot.app)) is not None and f.scopes and not f._refreshing,
        "the first refresh",
    )
    return _fleet(pilot.app)


async def press(pilot, *keys: str) -> None:  # noqa: ANN001
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.02)


async def shot_fleet(pilot) -> None:  # noqa: ANN001
    await ready(pilot)


async def shot_filter(pilot) -> None:  # noqa: ANN001
    fleet = await ready(pilot)
    await press(pilot, "a", "slash", *"web status:online")
    await until(pilot, lambda: fleet.model.query.text == "web status:online", "filter")


async def shot_profile_picker(pilot) -> None:  # noqa: ANN001
    from ssm_tui.ui.screens.picker import ScopePicker

    await ready(pilot)
    await press(pilot, "p")
    await until(pilot, lambda: isinstance(pilot.app.screen, ScopePicker), "picker")
    picker = pilot.app.screen
    await until(pilot, lambda: picker.accounts, "accounts")
    await press(pilot, "ctrl+u", *"prod", "down", "space")


async def shot_sessions(pilot) -> None:  # noqa: ANN001
    """Two session tabs side by side: a coloured `ls` and `top`."""
    from ssm_tui.ui.widgets.session_view import SessionView

    app = pilot.app
    fleet = await ready(pilot)
    main = _main(app)
    await press(pilot, str([p.name for p in main.profiles].index("sandbox") + 1))
    await until(pilot, lambda: not fleet._refreshing, "refresh")
    await press(pilot, "slash", *"platform:linux", "enter", "enter")
    await until(pilot, lambda: len(main.query(SessionView)) == 1, "tab 1")
    one = main.query(SessionView).first()
    await until(pilot, lambda: one.pane is not None and "$" in one.pane.screen_text(), "prompt 1")
    await press(pilot, *"ls --color=always -F /usr /etc/ssl", "enter")
    await pilot.pause(0.5)
    await press(pilot, "ctrl+right_square_bracket", "escape", "down", "enter")
    await until(pilot, lambda: len(main.query(SessionView)) == 2, "tab 2")
    two = list(main.query(SessionView))[1]
    await until(pilot, lambda: two.pane is not None and "$" in two.pane.screen_text(), "prompt 2")
    await press(pilot, *"top -d 60", "enter")
    await until(pilot, lambda: "load average" in two.pane.screen_text(), "top")
    await press(pilot, "ctrl+right_square_bracket", "v")
    await pilot.pause(0.5)


async def shot_error_notification(pilot) -> None:  # noqa: ANN001
    app = pilot.app
    fleet = await ready(pilot)
    main = _main(app)
    await press(pilot, str([p.name for p in main.profiles].index("prod-readonly") + 1))
    await until(pilot, lambda: not fleet._refreshing, "refresh")
    app.clear_notifications()
    await press(pilot, "slash", *"payments", "enter", "enter")
    await until(pilot, lambda: any(app._notifications), "notification")
    await until(pilot, lambda: main.tabs.active == "tab-fleet", "back on the fleet")


def start_sandbox(workdir: Path):  # noqa: ANN201
    """A sandbox with the screenshot seed, its env applied to this process (before any client)."""
    from ssm_tui.demo import SandboxProcess

    for name in list(os.environ):
        if name.startswith(("AWS_", "SSM_TUI_")):
            del os.environ[name]
    home = workdir / "home"
    home.mkdir(parents=True)
    os.environ.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        # every shot starts as a first run: none restores the selection or filter of the last
        SSM_TUI_REMEMBER_SELECTION="false",
    )
    sandbox = SandboxProcess(seed=SEED, directory=workdir / "sandbox")
    started = datetime.now(UTC).replace(microsecond=0)
    sandbox.start()
    os.environ.update(sandbox.env)
    token_dir = str(sandbox.install_sso_token(home).parent)
    import botocore.credentials
    import botocore.tokens

    botocore.credentials.SSOProvider._SSO_TOKEN_CACHE_DIR = token_dir
    botocore.tokens.SSOTokenProvider._SSO_TOKEN_CACHE_DIR = token_dir
    return sandbox, started


def known_aliases() -> object:
    """Account aliases are learnt lazily (picker, history); set them so every shot agrees.

    The app's AWS context to start with (`Services(context=...)`)."""
    from ssm_tui.aws import accounts
    from ssm_tui.aws.context import AwsContext, using

    with using(AwsContext()) as context:
        for account_id, alias in ALIASES.items():
            accounts.remember_label(account_id, alias)
    return context


async def take(name: str, shot, now: datetime) -> None:  # noqa: ANN001
    from textual.widgets import Input

    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.services import Services

    context = known_aliases()
    app = SsmTuiApp(Services(clock=lambda: now, account_lookup=False, context=context))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await shot(pilot)
        for box in app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()
        svg = app.export_screenshot(title="ssm-tui")
        (HERE / f"{name.replace('_', '-')}.svg").write_text(svg, encoding="utf-8")
        await app.shutdown_sessions()
    print(f"wrote screenshots/{name.replace('_', '-')}.svg")


def main() -> None:
    shots = {
        n.removeprefix("shot_"): f
        for n, f in inspect.getmembers(sys.modules[__name__], inspect.iscoroutinefunction)
        if n.startswith("shot_")
    }
    wanted = sys.argv[1:] or list(shots)
    unknown = [w for w in wanted if w not in shots]
    if unknown:
        raise SystemExit(f"unknown shot(s) {unknown}; known: {', '.join(shots)}")
    with tempfile.TemporaryDirectory(prefix="ssm-tui-shots-") as tmp:
        sandbox, started = start_sandbox(Path(tmp))
        try:
            for name in wanted:
                asyncio.run(take(name, shots[name], started + timedelta(seconds=30)))
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
