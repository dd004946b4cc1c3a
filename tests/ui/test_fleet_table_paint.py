"""The fleet table repaints only the lines whose row changed (issue 15: ≤ 50 ms a keystroke).

A keystroke that keeps the rows on screen repaints none of them, a cursor move repaints two
lines, a refreshed row its own line. The risk of that is a line left as it was drawn before;
so after every step the screen as Textual holds it must equal a full repaint of the same state.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from ssm_tui.aws.models import Instance, Scope
from ssm_tui.ui.fleet_model import FleetModel
from ssm_tui.ui.widgets.fleet_table import FleetTable

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
ROLES = ("web", "api", "worker", "db")


def _instance(n: int, profile: str) -> Instance:
    name = f"{ROLES[n % len(ROLES)]}-{n}"
    return Instance(
        profile=profile,
        account_id="222222222222",
        region="us-east-1",
        instance_id=f"i-{n:05d}",
        name=name,
        ping_status="Online",
        platform_name="Amazon Linux",
        platform_type="Linux",
        ip_address=f"10.0.{n // 256}.{n % 256}",
        last_ping=NOW - timedelta(minutes=n % 90),
        tags={"Name": name},
        account_label="acme",
    )


def _model() -> FleetModel:
    """200 nodes, each reached by two profiles (merged rows)."""
    model = FleetModel(clock=lambda: NOW)
    for profile in ("prod", "prod-readonly"):
        model.replace_scope(
            Scope(profile, "us-east-1"), [_instance(n, profile) for n in range(200)]
        )
    model.set_profile_order(["prod", "prod-readonly"])
    return model


class TableApp(App[None]):
    def __init__(self, model: FleetModel) -> None:
        super().__init__()
        self.model = model

    def compose(self) -> ComposeResult:
        yield FleetTable(self.model)


async def _same_as_a_full_repaint(app: TableApp, pilot, step: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    shown = app.export_screenshot()
    table = app.query_one(FleetTable)
    table._cache.clear()
    table.refresh()
    await pilot.pause()
    assert app.export_screenshot() == shown, f"a line kept its old drawing after: {step}"


async def test_every_line_is_as_a_full_repaint_draws_it_after_each_step() -> None:
    model = _model()
    app = TableApp(model)
    async with app.run_test(size=(110, 16)) as pilot:
        table = app.query_one(FleetTable)
        table.show(model.recompute())
        await _same_as_a_full_repaint(app, pilot, "the first draw")

        def type_filter(text: str) -> None:  # as the fleet view does on Input.Changed
            model.set_query(text)
            table.show(model.recompute(), set())

        # the top rows stay (typing on after "web") or change (a narrower match), the
        # row count shrinks below the screen and grows back
        for text in ("w", "we", "web", "web-1", "web-12", "web-1", "", "db-1", "zzz", "api"):
            type_filter(text)
            await _same_as_a_full_repaint(app, pilot, f"the filter {text!r}")
            # and the scrollbar follows the row count (the header is the extra line)
            assert table.virtual_size.height == len(model.visible) + 1
            assert table.show_vertical_scrollbar == (len(model.visible) + 1 > table.size.height)

        # the cursor moves (its two lines), then a filter keeps it on its row elsewhere
        await pilot.press("down", "down", "down")
        await _same_as_a_full_repaint(app, pilot, "the cursor moved down 3")
        key = table.cursor_key
        type_filter("api-1")
        assert table.cursor_key == key or key not in table.visible_keys()
        await _same_as_a_full_repaint(app, pilot, "a filter with the cursor moved")
        type_filter("")
        await _same_as_a_full_repaint(app, pilot, "the filter cleared")

        # a refresh changes one row on screen: only its line, and it shows the new data
        first = model.rows[table.visible_keys()[1]].instance
        renamed = dataclasses.replace(first, name=first.name + "-renamed", tags={})
        scope = Scope(first.profile, first.region)
        listed = [renamed if i.node == first.node else i for i in model._by_scope[scope].values()]
        changed = model.replace_scope(scope, listed)
        assert changed == {first.node}
        table.show(model.recompute(), changed)
        await _same_as_a_full_repaint(app, pilot, "one row refreshed")
        assert "-renamed" in app.export_screenshot()

        # a failed scope dims its rows: those lines are repainted
        model.stale[Scope("prod", "us-east-1")] = None
        table.show(model.recompute(), set(model._by_scope[Scope("prod", "us-east-1")]))
        await _same_as_a_full_repaint(app, pilot, "rows dimmed")

        # scrolled down a page, then filtered
        await pilot.press("pagedown", "pagedown")
        await _same_as_a_full_repaint(app, pilot, "two pages down")
        for text in ("w", "wo", "worker-1"):
            type_filter(text)
            await _same_as_a_full_repaint(app, pilot, f"scrolled, then the filter {text!r}")
