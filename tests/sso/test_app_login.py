"""`L` in the app: the device login of an expired SSO profile, approved by a browser GET, after
which exactly that profile is listed again and its rows appear (Pilot, the real sandbox)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.widgets import Static

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.services import Services
from tests.sso.conftest import SSO_PROFILE, open_in_browser
from tests.ui.conftest import main_screen, wait_for_fleet, wait_until


@pytest.fixture
def make_app(expired_env: Any) -> Any:
    """Apps on the expired sandbox whose timer never refreshes on its own during a test: every
    listing after the first is one the test caused."""
    from ssm_tui.aws.context import AwsContext
    from ssm_tui.aws.settings import Settings

    return lambda: SsmTuiApp(
        Services(
            settings=Settings(refresh_interval=3600), account_lookup=False, context=AwsContext()
        )
    )


def _sso_rows(fleet: Any) -> list[Any]:
    rows = [fleet.model.rows[key] for key in fleet.model.recompute()]
    return [row for row in rows if SSO_PROFILE in row.profiles]


def _login_failures(fleet: Any) -> list[Any]:
    return [s for s, e in fleet.progress.errors.items() if e.code == "SSOTokenExpired"]


async def test_L_logs_the_expired_profile_in_and_its_rows_appear(  # noqa: N802
    make_app: Any, expired_env: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        assert {s.profile for s in _login_failures(fleet)} == {SSO_PROFILE}
        assert not _sso_rows(fleet)
        assert screen.check_action("sso_login", ()) is True
        full_refreshes = fleet._refresh_id

        await pilot.press("L")
        await wait_until(pilot, lambda: getattr(app.screen, "code", None), "the URL and code")
        dialog = app.screen
        code = dialog.code
        assert code.verification_uri_complete.startswith(
            expired_env.endpoint + "/device?user_code="
        )
        shown = str(dialog.query_one("#sso-url", Static).render())
        assert shown == code.verification_uri_complete
        assert code.user_code in str(dialog.query_one("#sso-code", Static).render())
        await pilot.press("c")
        await wait_until(pilot, lambda: app.clipboard == code.user_code, "the code copied")
        await pilot.press("y")
        await wait_until(
            pilot, lambda: app.clipboard == code.verification_uri_complete, "the URL copied"
        )

        page = await asyncio.to_thread(open_in_browser, code.verification_uri_complete)
        assert "Request approved" in page
        await wait_until(pilot, lambda: app.screen is screen, "the dialog to close")
        await wait_until(pilot, lambda: _sso_rows(fleet), "the SSO profile's rows")
        assert not _login_failures(fleet)
        assert fleet._refresh_id == full_refreshes  # only that profile was listed, not all
        assert all(row.instance.account_id == "333333333333" for row in _sso_rows(fleet))
        await pilot.pause(0.1)
        assert screen.check_action("sso_login", ()) is False


async def test_escape_cancels_and_nothing_is_written(make_app: Any, expired_env: Any) -> None:
    from tests.sso.conftest import botocore_home, token_file

    app = make_app()
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        path = token_file(botocore_home(), expired_env)
        before = path.read_bytes()
        await pilot.press("L")
        await wait_until(pilot, lambda: getattr(app.screen, "code", None), "the URL and code")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the dialog to close")
        await pilot.pause(0.2)
        assert path.read_bytes() == before
        assert _login_failures(fleet)
        assert any("cancelled; nothing was written" in n.message for n in app._notifications)


async def test_a_code_not_approved_in_time_says_so_and_r_starts_again(
    make_app: Any, expired_env: Any
) -> None:
    expired_env.sso_oidc(device_code_ttl=1)
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for_fleet(pilot)
        await pilot.press("L")
        await wait_until(pilot, lambda: getattr(app.screen, "state", "") == "failed", "expiry")
        dialog = app.screen
        status = str(dialog.query_one("#sso-status", Static).render())
        assert "the SSO login code expired before it was approved" in status
        assert "start the login again" in status
        expired_env.sso_oidc(reset=True)
        await pilot.press("r")
        await wait_until(
            pilot, lambda: dialog.code is not None and dialog.state == "waiting", "a new code"
        )
        await asyncio.to_thread(open_in_browser, dialog.code.verification_uri_complete)
        await wait_until(pilot, lambda: app.screen is main_screen(app), "the dialog to close")


async def test_the_footer_and_the_palette_offer_the_login_only_when_needed(
    make_app: Any, expired_env: Any
) -> None:
    from ssm_tui.ui.widgets.key_bar import KeyBar

    app = make_app()
    async with app.run_test(size=(200, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)
        bar = screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "L" in [s.key for s in bar.spans], "L in the footer")
        await pilot.press("ctrl+p", *"SSO login")
        await pilot.pause(0.5)
        await pilot.press("enter")  # "SSO login: sso-dev"
        await wait_until(pilot, lambda: getattr(app.screen, "code", None), "the dialog's code")
        assert app.screen.profile == SSO_PROFILE
        await asyncio.to_thread(open_in_browser, app.screen.code.verification_uri_complete)
        await wait_until(pilot, lambda: _sso_rows(fleet), "the SSO profile's rows")
        await wait_until(pilot, lambda: "L" not in [s.key for s in bar.spans], "L gone")
        assert not [c for c in app.get_system_commands(screen) if "SSO login" in c.title]


async def test_e_says_that_L_logs_in(make_app: Any) -> None:  # noqa: N802
    app = make_app()
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for_fleet(pilot)
        await pilot.press("e")
        await pilot.pause(0.2)
        (note,) = [n for n in app._notifications if n.title == "Profiles that failed"]
        assert f"{SSO_PROFILE}/us-east-1" in note.message
        assert "run: aws sso login --profile sso-dev" in note.message
        assert note.message.endswith("Press L to log in from here (SSO login).")
