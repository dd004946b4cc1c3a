"""The fleet at small windows, optional columns, who is connected, row marks (issues 15-17).

Against the sandbox: Pilot drives the real app; snapshots use the frozen clock of
`tests/ui/test_snapshots.py`. The Connected tests start real sessions through boto3 with
another profile and end them (and every Active session of the accounts) around themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from textual.pilot import Pilot

from ssm_tui.aws.audit import BOTOCORE_HINT
from ssm_tui.aws.clients import forget_sessions
from ssm_tui.filtering import PREFIXES, parse_query
from ssm_tui.ui import fleet_columns
from ssm_tui.ui.fleet_columns import KNOWN, NARROW_STATUS
from ssm_tui.ui.screens.columns import ColumnChooser
from ssm_tui.ui.screens.document import DocumentPicker
from ssm_tui.ui.screens.run import RunScreen

from .conftest import wait_for_fleet, wait_until
from .test_snapshots import settle

PROFILES = {"sandbox": "us-east-1", "prod": "us-east-1", "dev": "eu-west-1",
            "prod-readonly": "us-east-1"}  # fmt: skip


def header(fleet: Any) -> list[str]:
    table = fleet.table
    layout = table.extras.layout
    if layout is None:
        from ssm_tui.ui.fleet_model import COLUMNS

        return [title for _, title in COLUMNS]
    return [column.title for column in layout.columns]


def row_text(fleet: Any, key: str) -> str:
    """The row's line as drawn (the table's own render path), without styles."""
    table = fleet.table
    index = table.visible_keys().index(key)
    return table.render_line(index + 1 - int(table.scroll_y)).text


def boto3_ssm(profile: str) -> Any:
    return boto3.Session(profile_name=profile, region_name=PROFILES[profile]).client("ssm")


def end_every_active_session() -> None:
    """The shared sandbox's Active sessions of other tests would show on rows: none left."""
    for profile in PROFILES:
        ssm = boto3_ssm(profile)
        for item in ssm.describe_sessions(State="Active")["Sessions"]:
            ssm.terminate_session(SessionId=item["SessionId"])


@pytest.fixture
def quiet_sandbox(sandbox_env: Any) -> Iterator[Any]:
    forget_sessions()
    end_every_active_session()
    yield sandbox_env
    sandbox_env.reset_faults()
    end_every_active_session()
    forget_sessions()


# -- small windows ------------------------------------------------------------------------------


async def test_at_80_columns_name_status_account_and_profile_stay(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        fleet = await wait_for_fleet(pilot)
        titles = header(fleet)
        assert {"Status", "Name", "Account", "Profile"} <= set(titles), titles
        layout = fleet.table.extras.layout
        assert layout is not None and layout.narrow and layout.width <= fleet.table.size.width
        status = layout.widths[layout.keys.index("status")]
        assert status == NARROW_STATUS
        key = next(k for k in fleet.table.visible_keys() if fleet.model.rows[k].views[1:])
        row = fleet.model.rows[key]
        line = row_text(fleet, key)
        assert line.startswith("● online")
        assert row.instance.name in line and "+1" in line  # the Profile column, whole
        # wider again (a side panel closed, the terminal grown): every column comes back
        await pilot.resize_terminal(220, 24)
        await wait_until(pilot, lambda: fleet.table.extras.layout is None, "default columns")


def test_fleet_at_80x24(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=run_before)


def test_connect_dialog_at_60x15(snap_compare, frozen_app):  # noqa: ANN001
    """The `c` dialog at 60×15, scrolled to its buttons (tests/nav/test_small_windows.py
    clicks them)."""

    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await pilot.press("slash", *"=bastion", "enter", "c")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, DocumentPicker), "dialog")
        pilot.app.screen.query_one("#connect").focus()
        await settle(pilot)
        button = pilot.app.screen.query_one("#connect")
        assert 0 <= button.region.y and button.region.bottom <= 15

    assert snap_compare(frozen_app(), terminal_size=(60, 15), run_before=run_before)


# -- optional columns ---------------------------------------------------------------------------


def test_every_column_title_is_a_filter_prefix() -> None:
    for column in KNOWN.values():
        if column.key in (fleet_columns.WHO, "ping"):  # an age; `ping:` is the status
            continue
        prefix = column.title.split()[0].lower()
        assert prefix in PREFIXES, column.title
        assert parse_query(f"{prefix}:x").terms[0].field == PREFIXES[prefix]


async def test_columns_from_the_key_and_the_palette_are_remembered(frozen_app) -> None:  # noqa: ANN001
    app = frozen_app()
    async with app.run_test(size=(200, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, ColumnChooser), "chooser")
        choices = app.screen.query_one("#column-choices")
        choices.select("type")
        choices.select("ami")
        choices.deselect("agent")
        await pilot.pause(0.1)
        await pilot.press("escape")
        assert fleet.columns[-2:] == ("type", "ami") and "agent" not in fleet.columns
        assert {"Type", "AMI"} <= set(header(fleet)) and "Agent" not in header(fleet)
        key = next(k for k in fleet.table.visible_keys() if k.split("/")[-1].startswith("i-"))
        row = fleet.model.rows[key]
        assert row.instance.image_id and row.instance.image_id in row_text(fleet, key)
        # the palette: "columns: show VPC"
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"columns: show VPC")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "vpc" in fleet.columns, "VPC column")
        assert row.instance.vpc_id in row_text(fleet, key)
        # the new columns filter: their title is the prefix
        await pilot.press("slash", *f"ami:{row.instance.image_id}", "enter")
        await wait_until(pilot, lambda: key in fleet.table.visible_keys(), "filtered")
        assert all(
            fleet.model.rows[k].instance.image_id == row.instance.image_id
            for k in fleet.table.visible_keys()
        )
    saved = json.loads(fleet_columns.state_path().read_text())
    assert saved["columns"][-3:] == ["type", "ami", "vpc"]
    app = frozen_app()
    async with app.run_test(size=(200, 40)) as pilot:  # the next run starts with them
        fleet = await wait_for_fleet(pilot)
        await wait_until(pilot, lambda: "vpc" in fleet.columns, "remembered columns")
        assert "agent" not in fleet.columns


async def test_the_columns_setting_chooses_and_unknown_names_are_said(
    frozen_app,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('columns = ["status", "name", "IAM role", "subnet", "bogus"]\n')
    monkeypatch.setenv("SSM_TUI_CONFIG", str(settings))
    app = frozen_app()
    async with app.run_test(size=(200, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        await wait_until(pilot, lambda: "iam" in fleet.columns, "the setting's columns")
        assert fleet.columns == ("status", "name", "account", "profile", "iam", "subnet")
        assert any("bogus" in str(n.message) for n in app._notifications)
        assert header(fleet) == ["Status", "Name", "Account", "Profile", "IAM role", "Subnet"]


def test_fleet_with_optional_columns(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        fleet = await wait_for_fleet(pilot)
        fleet.set_columns(("status", "name", "account", "profile", "type", "state", "ami"), False)
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=(140, 30), run_before=run_before)


# -- who is connected ---------------------------------------------------------------------------


def _linux_node(fleet: Any, profile: str) -> str:
    return next(
        key
        for key in fleet.table.visible_keys()
        if profile in fleet.model.rows[key].profiles
        and fleet.model.rows[key].instance.platform_type == "Linux"
        and fleet.model.rows[key].instance.instance_id.startswith("i-")
    )


async def test_a_session_another_profile_started_shows_on_the_row(
    frozen_app,  # noqa: ANN001
    quiet_sandbox: Any,
) -> None:
    app = frozen_app(active_lookup=True)
    async with app.run_test(size=(200, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        key = _linux_node(fleet, "dev")
        target = fleet.model.rows[key].instance.instance_id
        assert "Connected" not in header(fleet)
        # another tool (boto3) through another profile than the row's (prod-readonly, no role
        # session name) on a prod node, and dev's boto3 (its role session name: alice)
        other = next(
            k
            for k in fleet.table.visible_keys()
            if fleet.model.rows[k].instance.profile == "prod"
            and "prod-readonly" in fleet.model.rows[k].profiles
            and "Restricted" not in fleet.model.rows[k].instance.tags
            and fleet.model.rows[k].instance.platform_type == "Linux"
        )
        readonly = boto3.Session(profile_name="prod-readonly", region_name="us-east-1")
        tool = readonly.client("ssm")
        other_sid = tool.start_session(Target=fleet.model.rows[other].instance.instance_id)[
            "SessionId"
        ]
        ssm = boto3_ssm("dev")
        sid = ssm.start_session(Target=target, Reason="deploy 1.2")["SessionId"]
        try:
            await pilot.press("r")
            await wait_until(pilot, lambda: key in fleet.table.extras.who, "the marker")
            assert "Connected" in header(fleet)
            assert "◆ alice" in row_text(fleet, key)
            (session,) = fleet.connected[key]
            assert session.session_id == sid and session.start is not None
            await wait_until(pilot, lambda: other in fleet.table.extras.who, "the other marker")
            assert "◆ botocore-session-" in row_text(fleet, other)
            (elsewhere,) = fleet.connected[other]
            assert elsewhere.session_id == other_sid and elsewhere.hint == BOTOCORE_HINT
            await pilot.press("slash", *f"={target}", "enter", "d")
            await wait_until(pilot, lambda: app.screen.query("#instance-detail-body"), "panel")
            body = str(app.screen.query_one("#instance-detail-body").render())
            assert sid in body and "alice" in body and "since" in body
            assert "deploy 1.2" in body
        finally:
            ssm.terminate_session(SessionId=sid)
            tool.terminate_session(SessionId=other_sid)
        await pilot.press("r")
        await wait_until(pilot, lambda: key not in fleet.table.extras.who, "marker gone")
        assert other not in fleet.table.extras.who


@pytest.mark.parametrize("fault", ["sessions_denied_profile", "sessions_throttled_profile"])
async def test_a_failing_describe_sessions_hides_no_row(
    frozen_app,  # noqa: ANN001
    quiet_sandbox: Any,
    fault: str,
) -> None:
    app = frozen_app(active_lookup=True)
    async with app.run_test(size=(200, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        before = set(fleet.table.visible_keys())
        key = _linux_node(fleet, "dev")
        ssm = boto3_ssm("dev")
        sid = ssm.start_session(Target=fleet.model.rows[key].instance.instance_id)["SessionId"]
        try:
            await pilot.press("r")
            await wait_until(pilot, lambda: key in fleet.table.extras.who, "the marker")
            quiet_sandbox.set_faults(**{fault: "dev"})
            await pilot.press("r")
            await wait_until(
                pilot, lambda: any(s.profile == "dev" for s in fleet.who_errors), "the error"
            )
            await wait_until(pilot, lambda: not fleet._refreshing, "refresh done")
            assert set(fleet.table.visible_keys()) == before  # every row still there
            assert key in fleet.table.extras.who  # the last answer is kept
            await pilot.press("slash", *f"={fleet.model.rows[key].instance.instance_id}")
            await pilot.press("enter", "d")
            await wait_until(pilot, lambda: app.screen.query("#instance-detail-body"), "panel")
            body = str(app.screen.query_one("#instance-detail-body").render())
            assert "AWS did not say for dev/eu-west-1" in body
        finally:
            quiet_sandbox.reset_faults()
            ssm.terminate_session(SessionId=sid)


def test_connected_marker_snapshot(snap_compare, frozen_app, quiet_sandbox):  # noqa: ANN001
    """The Connected column and the detail panel of a node someone else is connected to."""
    started: list[str] = []

    async def run_before(pilot: Pilot) -> None:
        fleet = await wait_for_fleet(pilot)
        key = next(k for k in fleet.table.visible_keys() if fleet.model.rows[k].instance.name
                   == "bastion")  # fmt: skip
        ssm = boto3_ssm("sandbox")
        target = fleet.model.rows[key].instance.instance_id
        started.append(ssm.start_session(Target=target)["SessionId"])
        await pilot.press("r")
        await wait_until(pilot, lambda: key in fleet.table.extras.who, "the marker")
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh done")
        await pilot.press("slash", *"name:bastion", "enter")
        await settle(pilot)

    try:
        app = frozen_app(active_lookup=True)
        assert snap_compare(app, terminal_size=(140, 20), run_before=run_before)
    finally:
        for sid in started:
            boto3_ssm("sandbox").terminate_session(SessionId=sid)


# -- marks --------------------------------------------------------------------------------------


async def test_space_marks_rows_that_survive_refresh_and_filter_and_x_runs_on_them(
    frozen_app,  # noqa: ANN001
) -> None:
    app = frozen_app()
    async with app.run_test(size=(200, 40)) as pilot:
        fleet = await wait_for_fleet(pilot)
        first, second, third = fleet.table.visible_keys()[:3]
        await pilot.press("space", "space")  # marks and moves down
        assert fleet.marked == {first, second}
        assert fleet.table.cursor_key == third
        assert row_text(fleet, first).startswith(fleet_columns.MARK)
        assert not row_text(fleet, third).startswith(fleet_columns.MARK)
        await pilot.press("up", "space")  # unmarks
        assert fleet.marked == {first}
        status = str(fleet.query_one("#fleet-status").render())
        assert "1 marked" in status
        await pilot.press("r")
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
        assert fleet.marked == {first}
        name = fleet.model.rows[first].instance.name
        await pilot.press("slash", *"platform:windows", "enter")
        await wait_until(pilot, lambda: first not in fleet.table.visible_keys(), "filtered")
        assert fleet.marked == {first}  # a mark hidden by the filter stays
        shown = set(fleet.table.visible_keys())
        await pilot.press("asterisk")  # every row the filter shows
        assert fleet.marked == {first} | shown
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), "run screen")
        targets = {i.node for i in app.screen.instances}
        assert targets == {first} | shown and name
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunScreen), "closed")
        await pilot.press("u")
        assert not fleet.marked
        await pilot.press("x")  # no marks: the highlighted row only
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), "run screen")
        assert [i.node for i in app.screen.instances] == [fleet.table.cursor_key]


def test_marked_rows_snapshot(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await pilot.press("space", "down", "space")
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=(100, 20), run_before=run_before)


# -- the fitting rule, on its own ---------------------------------------------------------------


def _widths() -> list[int]:
    """Default columns' widths as the sandbox has them (status 16 wide, name 19, ...)."""
    from ssm_tui.ui.fleet_model import COLUMNS

    sample = {"status": 16, "name": 19, "id": 19, "account": 9, "profile": 18, "region": 9,
              "platform": 24, "ip": 12, "agent": 10, "ping": 9}  # fmt: skip
    return [sample[key] for key, _ in COLUMNS]


def test_fit_keeps_the_default_path_while_everything_fits() -> None:
    widths = _widths()
    assert fleet_columns.fit(fleet_columns.DEFAULT, widths, {}, 400) is None


def test_fit_narrows_status_then_keeps_what_fits_by_priority() -> None:
    layout = fleet_columns.fit(fleet_columns.DEFAULT, _widths(), {}, 78)
    assert layout is not None and layout.narrow
    # essentials (10+19+9+18 + 4 gaps = 64), then id (21) does not fit but region (11) does
    assert layout.keys == ("status", "name", "account", "profile", "region")
    assert layout.width <= 78


def test_fit_cuts_the_essentials_last_and_never_drops_them() -> None:
    layout = fleet_columns.fit(fleet_columns.DEFAULT, _widths(), {}, 50)
    assert layout is not None
    assert layout.keys == ("status", "name", "account", "profile")
    assert layout.width <= 50
    assert dict(zip(layout.keys, layout.widths, strict=True))["profile"] == 10


def test_toggled_and_with_essentials_keep_order_and_the_columns_that_matter() -> None:
    default = fleet_columns.DEFAULT
    assert fleet_columns.toggled(default, "name") == default  # essential: stays
    assert fleet_columns.toggled(default, "ami")[-1] == "ami"
    without_region = fleet_columns.toggled(default, "region")
    assert "region" not in without_region
    assert fleet_columns.toggled(without_region, "region") == default  # back in its place
    assert fleet_columns.with_essentials(("ami", "name")) == (
        "status", "ami", "name", "account", "profile"
    )  # fmt: skip


def test_columns_remembered_unless_the_setting_changed(clean_aws_env: Any) -> None:
    fleet_columns.save_columns(("status", "name", "account", "profile", "vpc"), ())
    assert fleet_columns.load_columns((), True)[0][-1] == "vpc"
    assert fleet_columns.load_columns((), False)[0] == fleet_columns.DEFAULT
    # the file was edited since: its columns win over the app's last choice
    chosen, unknown = fleet_columns.load_columns(("name", "ami", "nope"), True)
    assert chosen == ("status", "name", "account", "profile", "ami") and unknown == ["nope"]


def test_a_control_character_in_an_optional_column_is_shown_escaped() -> None:
    from rich.console import Console

    from ssm_tui.aws.models import Instance
    from ssm_tui.ui.fleet_model import build_row

    instance = Instance("p", "1", "r", "i-1", "web", "Online", computer_name="evil\x1b[2Jhost")
    row = build_row(instance)
    layout = fleet_columns.ColumnLayout(
        (KNOWN["status"], KNOWN["name"], KNOWN["computer"]), (10, 6, 20)
    )
    strip = layout.line(row, fleet_columns.Style(), Console(), {}, {})
    assert "\x1b" not in strip.text and "evil^[[2Jhost" in strip.text


def test_the_new_columns_filter_on_what_they_show() -> None:
    from ssm_tui.aws.models import Instance
    from ssm_tui.filtering import filter_instances

    role = "arn:aws:iam::1:instance-profile/SSMInstanceRole"
    web = Instance("p", "1", "r", "i-1", "web", "Online", computer_name="ip-10-0-0-1.internal",
                   resource_type="EC2Instance", iam_role=role)  # fmt: skip
    pi = Instance("p", "1", "r", "mi-2", "pi", "Online", computer_name="raspberrypi",
                  resource_type="ManagedInstance")  # fmt: skip
    both = [web, pi]
    assert filter_instances(both, "iam:ssminstancerole") == [web]  # the name the column shows
    assert filter_instances(both, f"iam:{role}") == [web]  # and the whole ARN
    assert filter_instances(both, "computer:raspberry") == [pi]
    assert filter_instances(both, "resource:managedinstance") == [pi]
    assert filter_instances(both, "resource:managed") == []  # a whole value, as type: is


async def test_describe_sessions_per_scope_a_denied_one_is_its_own_error(
    quiet_sandbox: Any,
) -> None:
    from ssm_tui.aws.models import Scope
    from ssm_tui.ui.services import Services

    ssm = boto3_ssm("dev")
    target = next(
        i["InstanceId"]
        for i in ssm.describe_instance_information()["InstanceInformationList"]
        if i["PingStatus"] == "Online" and i["PlatformType"] == "Linux"
    )
    sid = ssm.start_session(Target=target, Reason="check")["SessionId"]
    quiet_sandbox.set_faults(sessions_denied_profile="prod")
    services = Services(store=False, account_lookup=False)
    try:
        dev, prod = await services.active_sessions(
            [Scope("dev", "eu-west-1"), Scope("prod", "us-east-1")]
        )
    finally:
        ssm.terminate_session(SessionId=sid)
        services.aws.stop()
    assert dev.error is None
    (session,) = [s for s in dev.sessions if s.session_id == sid]
    assert (session.person, session.target, session.reason) == ("alice", target, "check")
    assert session.start is not None and session.start.tzinfo is not None
    assert prod.error is not None and prod.error.code == "AccessDeniedException"
    assert prod.sessions == ()
