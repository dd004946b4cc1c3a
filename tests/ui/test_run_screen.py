"""Run Command from the app: `X` runs one script on every instance the filter shows, `x` on the
highlighted one; results per instance, full output of the highlighted row, all through the real
sandbox (SendCommand runs the script in each instance's shell)."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.run import RunScreen

from .conftest import wait_for_fleet, wait_until

SIZE = (140, 40)


async def test_broadcast_runs_on_every_shown_instance_with_results_per_instance(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        await pilot.press("slash", *"web- platform:linux", "enter")
        await wait_until(pilot, lambda: fleet.model.query.text.startswith("web-"), "filter")
        shown = [fleet.model.rows[k].instance for k in fleet.table.visible_keys()]
        assert len(shown) >= 2
        await pilot.press("X")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen")
        screen = app.screen
        assert [i.key for i in screen.instances] == [i.key for i in shown]
        await pilot.press(*'echo "on $AWS_SSM_INSTANCE_ID"; echo "[red]x" >&2; exit 3', "enter")
        await wait_until(pilot, lambda: not screen.running, "every invocation")
        assert set(screen.results) == {i.key for i in shown}
        for instance in shown:
            result = screen.results[instance.key]
            assert (result.status, result.exit_code) == ("Failed", 3)
            assert result.stdout == f"on {instance.instance_id}\n"
        table = screen.query_one("#run-results", DataTable)
        row = table.get_row(shown[0].key)
        assert (row[4].plain, row[5].plain) == ("Failed", "3")
        assert row[6].plain == f"on {shown[0].instance_id}"
        output = screen.query_one("#run-output-text", Static)
        text = output.render()
        assert f"on {shown[0].instance_id}" in str(text) and "[red]x" in str(text)
        summary = str(screen.query_one("#run-summary", Static).render())
        assert summary == f"done: 0 succeeded, {len(shown)} failed, 0 waiting"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunScreen), "back")

        await pilot.press("x")  # the highlighted row only
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen")
        screen = app.screen
        assert [i.key for i in screen.instances] == [fleet.table.cursor_row.instance.key]
        await pilot.press(*"uname -s", "enter")
        await wait_until(pilot, lambda: not screen.running, "the invocation")
        (result,) = screen.results.values()
        assert (result.status, result.stdout) == ("Success", "Linux\n")
