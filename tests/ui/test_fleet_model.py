"""The fleet model: filter language, literal AWS text, sort, in-place updates (no Textual)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_tui.aws.models import Instance, Scope
from ssm_tui.ui.fleet_model import FleetModel, build_row, format_last_ping, literal, parse_query

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def inst(
    iid: str,
    name: str,
    status: str = "Online",
    profile: str = "prod",
    region: str = "us-east-1",
    tags: dict[str, str] | None = None,
    ip: str = "10.0.0.1",
    label: str = "acme-prod",
) -> Instance:
    return Instance(
        profile=profile,
        account_id="222222222222",
        region=region,
        instance_id=iid,
        name=name,
        ping_status=status,
        platform_name="Amazon Linux",
        platform_type="Linux",
        ip_address=ip,
        last_ping=NOW - timedelta(minutes=3),
        tags=tags or {"Name": name},
        account_label=label,
    )


FLEET = [
    inst("i-001", "web-1", tags={"Name": "web-1", "Env": "prod"}),
    inst("i-002", "web-2", "ConnectionLost", tags={"Name": "web-2", "Env": "staging"}),
    inst("i-003", "db-1", tags={"Name": "db-1", "Env": "prod", "Team": "data"}, ip="10.0.9.9"),
    inst("mi-004", "pi-kitchen", "Inactive", profile="dev", label="acme-dev"),
    inst("i-005", "worker-east", profile="dev", region="eu-west-1", label="acme-dev"),
]


def model(online_only: bool = False) -> FleetModel:
    m = FleetModel(clock=lambda: NOW)
    for scope in {Scope(i.profile, i.region) for i in FLEET}:
        m.replace_scope(scope, [i for i in FLEET if Scope(i.profile, i.region) == scope])
    m.online_only = online_only
    return m


def names(m: FleetModel, text: str) -> list[str]:
    m.set_query(text)
    return [m.rows[k].instance.name for k in m.recompute()]


def test_free_words_match_name_id_ip_account_and_tags():
    m = model()
    assert names(m, "web") == ["web-1", "web-2"]
    assert names(m, "i-003") == ["db-1"]
    assert names(m, "10.0.9") == ["db-1"]
    assert names(m, "acme-dev") == ["pi-kitchen", "worker-east"]
    assert names(m, "data") == ["db-1"]  # a tag value
    assert names(m, "wkr") == ["worker-east"]  # fuzzy: letters in order in the name


def test_field_terms_and_negation():
    m = model()
    assert names(m, "tag:env=prod") == ["db-1", "web-1"]
    assert names(m, "tag:team") == ["db-1"]
    assert names(m, "status:online") == ["db-1", "web-1", "worker-east"]
    assert names(m, "account:dev") == ["pi-kitchen", "worker-east"]
    assert names(m, "region:eu") == ["worker-east"]
    assert names(m, "web !tag:env=prod") == ["web-2"]
    assert names(m, "status:lost web") == ["web-2"]


def test_online_only_is_the_default_and_a_status_term_overrides_it():
    m = model(online_only=True)
    assert names(m, "") == ["db-1", "web-1", "worker-east"]
    assert names(m, "status:inactive") == ["pi-kitchen"]
    assert m.counts() == (5, 3, 1)


def test_scopes_limit_the_view():
    m = model()
    m.scopes = {Scope("dev", "eu-west-1")}
    assert names(m, "") == ["worker-east"]


def test_markup_and_escape_sequences_stay_literal():
    row = build_row(inst("i-9", "[bold]x[/] \x1b[31mred", tags={"Name": "[red]t"}), NOW)
    name = row.cells[1]
    assert name.plain == "[bold]x[/] ^[[31mred"  # ESC shown as ^[, never sent to the terminal
    assert not name.spans  # no style was parsed out of the text
    assert literal("[/x]").plain == "[/x]"  # a closing tag that would raise in markup
    assert "[bold]x[/]" in row.fields["blob"]


def test_replace_scope_updates_in_place_and_reports_changes():
    m = model()
    scope = Scope("prod", "us-east-1")
    same = [i for i in FLEET if i.profile == "prod"]
    assert m.replace_scope(scope, same) == set()
    changed = [inst("i-001", "web-1", "ConnectionLost", tags={"Name": "web-1", "Env": "prod"})]
    keys = m.replace_scope(scope, changed)
    node = "222222222222/us-east-1/"
    assert keys == {node + "i-001", node + "i-002", node + "i-003"}
    assert m.rows["222222222222/us-east-1/i-001"].instance.ping_status == "ConnectionLost"
    assert "222222222222/us-east-1/i-002" not in m.rows


def test_sort_by_any_column_and_reverse():
    m = model()
    m.set_sort("status")
    assert names(m, "")[-1] == "pi-kitchen"
    m.set_sort("name", reverse=True)
    assert names(m, "")[0] == "worker-east"


def test_last_ping_buckets_are_coarse():
    assert format_last_ping(None, NOW) == "-"
    assert format_last_ping(NOW - timedelta(seconds=299), NOW) == "<10m"
    assert format_last_ping(NOW - timedelta(minutes=42), NOW) == "42m"
    assert format_last_ping(NOW - timedelta(hours=5, minutes=59), NOW) == "5h"
    assert format_last_ping(NOW - timedelta(days=40), NOW) == "40d"


WORDS = st.sampled_from(["w", "we", "web", "web-", "1", "db", "tag:env=prod", "!web", "status:on",
                         "account:dev", "wkr", "k", "i-00", "zz", "tag:team"])  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(WORDS, max_size=3), min_size=1, max_size=6), st.booleans())
def test_column_scan_agrees_with_row_by_row_matching(queries, online_only):
    """The cached, narrowing index scan gives exactly what `Query.matches` says per row."""
    m = model(online_only)
    for words in queries:
        text = " ".join(words)
        m.set_query(text)
        query = parse_query(text)
        expected = [
            r.key
            for r in sorted(m.rows.values(), key=lambda r: (r.sort_key("name"), r.key))  # type: ignore[return-value]
            if query.matches(r.fields) and (r.online or not online_only or query.has_status)
        ]
        # best matches first (issue 15), the view's order within each rank
        expected.sort(key=lambda key: query.rank(m.rows[key].fields))
        assert m.recompute() == expected


def test_one_row_per_node_whatever_the_number_of_profiles():
    """Issue 15: prod and prod-readonly list the same node: one row, both profiles, and the
    profile Enter uses is the first not denied there, then the preferred one."""
    from ssm_tui.nodes import Reach

    m = FleetModel(clock=lambda: NOW)
    web = inst("i-001", "web-1")
    m.replace_scope(Scope("prod", "us-east-1"), [web])
    m.replace_scope(
        Scope("prod-readonly", "us-east-1"), [inst("i-001", "web-1", profile="prod-readonly")]
    )
    m.set_profile_order(["prod", "prod-readonly"])
    (row,) = m.rows.values()
    assert row.profiles == ("prod", "prod-readonly") and row.instance.profile == "prod"
    m.set_reach(Reach(preferred={"acme-prod": "prod-readonly"}))
    assert m.rows[row.key].instance.profile == "prod-readonly"
    m.set_reach(
        Reach(denied={("prod-readonly", "i-001")}, preferred={"acme-prod": "prod-readonly"})
    )
    assert m.rows[row.key].instance.profile == "prod"
    m.scopes = {Scope("prod-readonly", "us-east-1")}  # only that profile selected: it is used
    assert m.rows[row.key].instance.profile == "prod-readonly" and m.rows[row.key].denied
    assert "✗" in m.rows[row.key].texts[4]
    m.replace_scope(Scope("prod", "us-east-1"), [])
    assert m.rows[row.key].profiles == ("prod-readonly",)


def test_filter_language_of_issue_15():
    from ssm_tui.filtering import filter_instances

    fleet = [inst("i-9", "web-euw1-00031"), inst("i-1", "web-1"), inst("i-2", "web-10"),
             inst("i-3", "db", "Inactive", profile="prod-readonly"),
             inst("i-4", "cache", "ConnectionLost")]  # fmt: skip
    names = lambda text: [i.name for i in filter_instances(fleet, text, online_only=False)]  # noqa: E731
    assert names("web-1")[:2] == ["web-1", "web-10"]  # exact, then prefix, before fuzzy/substring
    assert names('"web-1"') == names("=web-1") == ["web-1"]
    assert names("status:offline") == ["db", "cache"]
    assert names("profile:prod") == ["web-euw1-00031", "web-1", "web-10", "cache"]
    assert "db" in names("profile:prod*") and names("profile:prod-readonly") == ["db"]
    assert names("name:web-1*") == ["web-1", "web-10"]
    assert names("!status:online") == ["db", "cache"]
