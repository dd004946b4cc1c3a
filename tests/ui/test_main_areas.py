"""The main screen's areas: fleet beside its side panels, or the sessions; each area brings its
stylesheet when first mounted, not at start."""

from __future__ import annotations

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.services import Services

from .conftest import main_screen, wait_until


def _read(app: SsmTuiApp) -> set[str]:
    return {path.rsplit("/", 1)[-1] for path, _ in app.stylesheet.source if path.endswith(".tcss")}


async def test_sessions_and_side_panel_styles_load_with_their_area():
    app = SsmTuiApp(Services(store=False, account_lookup=False))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = main_screen(app)
        assert _read(app) == {"app.tcss", "fleet.tcss"}

        screen.sessions_area()
        await pilot.pause()
        assert "sessions.tcss" in _read(app)
        assert any(
            rule.selector_names & {"SessionView"} for rule in app.stylesheet.rules
        )  # parsed into the rules that style widgets mounted from now on

        await pilot.press("h")
        await wait_until(pilot, lambda: screen.query("#history-panel"), "history panel")
        panel = screen.query_one("#history-panel")
        assert {"history.tcss", "logs.tcss"} <= _read(app)
        title = panel.query_one("#history-title")
        assert title.styles.text_style.bold  # from history.tcss
        assert panel.styles.height is not None and str(panel.styles.height) == "1fr"


async def test_side_panels_show_beside_the_fleet_only():
    app = SsmTuiApp(Services(store=False, account_lookup=False))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = main_screen(app)
        await pilot.press("h")
        await wait_until(pilot, lambda: screen.query("#history-panel"), "history panel")
        await pilot.pause()
        side = screen.query_one("#side")
        assert side.display and side.region.x >= screen.fleet.region.right  # beside the fleet

        screen.show_area("sessions")
        await pilot.pause()
        assert not screen.fleet.display and not side.display
        assert screen.sessions_area().display

        screen.show_area("fleet")
        screen.fleet.table.focus()  # as the Fleet tab does
        await pilot.pause()
        assert screen.fleet.display and side.display
        assert not screen.sessions_area().display

        await pilot.press("h")  # the last panel closes: the fleet takes the whole width
        await wait_until(pilot, lambda: not screen.query("#history-panel"), "panel closed")
        await pilot.pause()
        assert not side.display and screen.fleet.region.width == 120
