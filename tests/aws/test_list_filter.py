"""`ssm-tui list --filter` speaks the fleet table's language, and lists each node once (issue 15).

Against the sandbox: `prod` and `prod-readonly` reach the same account, as `dev` and `sso-dev` do.
"""

from __future__ import annotations

import json

import pytest

from ssm_tui.cli import main


def _rows(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    code = main(["list", "--json", "--no-cache", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_tag_filter_finds_the_tagged_instances(sandbox_env, capsys, world) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(capsys, "--profile", "prod", "--filter", "tag:Env=prod")
    expected = {
        i.instance_id
        for region in ("us-east-1",)
        for i in world.managed("222222222222", region)
        if i.tags.get("Env") == "prod"
    }
    assert expected and {r["instance_id"] for r in rows} == expected


def test_status_filter_keeps_only_that_status(sandbox_env, capsys, world) -> None:  # type: ignore[no-untyped-def]
    online = _rows(capsys, "--profile", "prod", "--filter", "status:online")
    assert online and {r["ping_status"] for r in online} == {"Online"}
    offline = _rows(capsys, "--profile", "prod", "--filter", "status:offline")
    assert offline and {r["ping_status"] for r in offline} == {"ConnectionLost", "Inactive"}


def test_one_row_per_node_with_every_profile_that_reaches_it(sandbox_env, capsys, world) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(capsys, "--profile", "prod", "--profile", "prod-readonly")
    nodes = [(r["account_id"], r["region"], r["instance_id"]) for r in rows]
    assert len(nodes) == len(set(nodes))  # no node twice
    expected = {i.instance_id for i in world.managed("222222222222", "us-east-1")}
    assert {r["instance_id"] for r in rows} == expected
    assert all(r["profiles"] == ["prod", "prod-readonly"] for r in rows)
    assert all(r["profile"] == "prod" for r in rows)  # the one a session starts with


def test_by_profile_keeps_the_old_shape(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(capsys, "--profile", "prod", "--profile", "prod-readonly", "--by-profile")
    per_profile = {(r["profile"], r["instance_id"]) for r in rows}
    ids = {r["instance_id"] for r in rows}
    assert len(per_profile) == 2 * len(ids)


def test_profile_filter_is_exact_unless_a_wildcard_asks(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    both = ["--profile", "prod", "--profile", "prod-readonly", "--by-profile"]
    exact = _rows(capsys, *both, "--filter", "profile:prod")
    assert exact and {r["profile"] for r in exact} == {"prod"}
    wildcard = _rows(capsys, *both, "--filter", "profile:prod*")
    assert {r["profile"] for r in wildcard} == {"prod", "prod-readonly"}


def test_exact_and_prefix_names_come_first(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(capsys, "--profile", "prod", "--filter", "web-")
    assert rows[0]["name"] in ("web-1", "web-2")
    exact = _rows(capsys, "--profile", "prod", "--filter", '"web-1"')
    assert [r["name"] for r in exact] == ["web-1"]
