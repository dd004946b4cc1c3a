"""Issue 15 in the app, against the sandbox: one row per node, typing after `/`, offline rows,
denials, the detail view."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from tests.ui.conftest import main_screen, wait_for_fleet, wait_until


@pytest.fixture(scope="session")
def world(sandbox):  # type: ignore[no-untyped-def]
    """The sandbox's seeded fleet, rebuilt from its seed."""
    from ssm_tui.sandbox.world import build_world

    return build_world(seed=sandbox.info["seed"], count=sandbox.info["instances"])


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
        assert db.texts[4] == "prod +1"  # Enter uses prod; one more reaches it


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


def _app_with(sandbox_env, **settings):  # noqa: ANN001, ANN003
    """An app with these settings; its AWS context starts with the sandbox's account aliases
    (each services object has a context of its own: the aliases `frozen_app` seeds are its
    apps' only), so settings keyed by an alias see it."""
    from ssm_tui.aws import accounts
    from ssm_tui.aws.context import AwsContext, using
    from ssm_tui.aws.settings import Settings
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.services import Services
    from tests.ui.conftest import SANDBOX_ALIASES, sandbox_world_now

    now = sandbox_world_now(sandbox_env)
    with using(AwsContext()) as context:
        for account_id, alias in SANDBOX_ALIASES.items():
            accounts.remember_alias(account_id, alias)
    services = Services(
        settings=Settings(**settings), clock=lambda: now, account_lookup=False, context=context
    )
    return SsmTuiApp(services)


def _messages(app) -> list[str]:  # noqa: ANN001
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def _select(pilot, fleet, text: str) -> None:  # noqa: ANN001
    await pilot.press("slash")
    await wait_until(pilot, lambda: fleet.query("#filter") and fleet.query_one("#filter").has_focus,
                     "the filter box")  # fmt: skip
    fleet.query_one("#filter", Input).value = text
    await pilot.press("enter")  # back to the table
    await wait_until(pilot, lambda: fleet.table.has_focus, "the table")


async def test_access_denied_is_remembered_and_names_the_profile_that_can_try(
    sandbox_env,
) -> None:  # noqa: ANN001
    app = _app_with(sandbox_env, preferred_profiles={"acme-prod": "prod-readonly"})
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        await _select(pilot, fleet, "=db-primary")
        row = fleet.table.cursor_row
        assert row is not None and row.instance.profile == "prod-readonly"  # the preference
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("Could not connect" in m for m in _messages(app)),
                         "the StartSession error")  # fmt: skip
        (error,) = [m for m in _messages(app) if "Could not connect" in m]
        assert "prod-readonly may not start a session" in error
        assert "profile prod also reaches this instance" in error
        row = fleet.model.rows[row.key]
        assert row.instance.profile == "prod"  # the next Enter does not repeat the denial
        store = app.services.get_store()
        assert ("prod-readonly", row.instance.instance_id) in store.denials()
        await pilot.press("c")  # `c` offers both, the denied one marked
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ProfileChoice", "c dialog")
        text = " ".join(str(o.prompt) for o in app.screen.query_one("#profile-options").options)
        assert text.startswith("prod ") and "prod-readonly  denied by AWS" in text
        await pilot.press("escape")


async def test_enter_on_an_offline_instance_explains_instead_of_connecting(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        await _select(pilot, fleet, "=old-nas")
        assert fleet.table.cursor_row.instance.ping_status == "Inactive"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("offline" in m for m in _messages(app)), "the note")
        (note,) = [m for m in _messages(app) if "offline" in m]
        assert "last pinged" in note or "never connected" in note
        assert not app.live_sessions  # no StartSession


async def test_status_offline_shows_connection_lost_and_inactive(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        fleet.model.set_query("status:offline")
        statuses = {fleet.model.rows[k].instance.ping_status for k in fleet.model.recompute()}
        assert statuses == {"ConnectionLost", "Inactive"}


async def test_detail_panel_shows_everything_about_the_node_and_follows_the_cursor(
    frozen_app, world
) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(200, 50)) as pilot:
        fleet = await wait_for_fleet(pilot)
        await _select(pilot, fleet, "=db-primary")
        await pilot.press("d")
        await wait_until(pilot, lambda: app.screen.query("#instance-detail-body"), "the panel")
        body = str(app.screen.query_one("#instance-detail-body").render())
        seeded = next(i for i in world.instances if i.name == "db-primary")
        for value in (seeded.instance_id, seeded.image_id, seeded.vpc_id, seeded.subnet_id,
                      seeded.instance_type, "running", "instance-profile/SSMInstanceProfile",
                      "prod-readonly", "Restricted = true", seeded.agent_version):  # fmt: skip
            assert value in body, value
        await _select(pilot, fleet, "=web-1")
        await pilot.pause(0.1)
        body = str(app.screen.query_one("#instance-detail-body").render())
        assert body.startswith("web-1")
        await pilot.press("d")  # closes it
        await wait_until(pilot, lambda: not app.screen.query("#instance-detail-body"), "closed")


async def test_the_palette_lists_each_node_once_with_its_profiles(frozen_app) -> None:  # noqa: ANN001
    from ssm_tui.ui.commands import InstanceCommands

    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for_fleet(pilot)
        provider = InstanceCommands(app.screen)
        entries = provider.entries()
        names = [name for name, _, _ in entries]
        assert len(names) == len(set(names))
        (db,) = [e for e in entries if e[0].startswith("connect: db-primary ")]
        assert db[2] == "Online · via prod (also prod-readonly)"
