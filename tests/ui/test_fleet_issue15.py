"""Issue 15 in the app, against the sandbox: one row per node, typing after `/`, offline rows,
denials, the detail view."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from tests.ui.conftest import main_screen, wait_for_fleet, wait_until


def _burst(app, text: str) -> None:  # noqa: ANN001
    """Keys as a fast typist or a paste without bracketing sends them: all queued at once,
    before the app has handled the first (Pilot's `press` waits between keys)."""
    for ch in text:
        key = "slash" if ch == "/" else ch
        app.post_message(events.Key(key, ch))


async def test_a_burst_after_slash_lands_in_the_filter_box(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        _burst(app, "/prod")
        await wait_until(pilot, lambda: fleet.query("#filter"), "the filter box")
        await pilot.pause(0.2)
        box = fleet.query_one("#filter", Input)
        assert main_screen(app) is app.screen  # no profile picker opened (`p` of "prod")
        assert box.value == "prod"
        assert fleet.model.query.text == "prod"


async def test_one_row_per_node_with_its_profiles(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        rows = [fleet.model.rows[k] for k in fleet.model.recompute()]
        nodes = [r.key for r in rows]
        assert len(nodes) == len(set(nodes))
        (db,) = [r for r in rows if r.instance.name == "db-primary"]
        assert set(db.profiles) == {"prod", "prod-readonly"}
        assert db.instance.profile == "prod"  # config order; prod-readonly is denied there
        assert db.texts[4] == "prod +1"


async def test_slash_web_1_enter_picks_the_exact_name(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        await pilot.press("slash", *"web-1")
        await wait_until(pilot, lambda: fleet.model.query.text == "web-1", "the filter")
        assert fleet.model.rows[fleet.model.visible[0]].instance.name == "web-1"
        exact = fleet.query_one("#filter", Input)
        exact.value = '"web-1"'
        await pilot.pause(0.1)
        assert [fleet.model.rows[k].instance.name for k in fleet.model.visible] == ["web-1"]
