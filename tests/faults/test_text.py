"""Issue 13, hostile text: bidi/format controls and lone surrogates from AWS, shown as escapes.

U+202E (RIGHT-TO-LEFT OVERRIDE) reverses what follows it on screen: a tag `x\u202egnp.exe`
reads as `xexe.png`. Every place that shows AWS text goes through `ssm_tui.text`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest

from ssm_tui.text import json_line, printable

RLO = "\u202e"
HOSTILE = f"db{RLO}gnp.exe\u200b\u2066x\u2069"


def test_printable_escapes_every_bidi_and_format_control() -> None:
    controls = [*"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"]
    controls += ["\u200b", "\ufeff", "\u2028", "\ud800", "\x1b", "\x9b", "\U000e0041"]
    for ch in controls:
        shown = printable(f"a{ch}b")
        assert shown.isprintable() and ch not in shown, repr(ch)
    assert printable("caf\u00e9 \u65e5\u672c \u00a0nbsp") == "caf\u00e9 \u65e5\u672c \u00a0nbsp"
    assert printable("a\x1bb", caret=True) == "a^[b"


def test_json_line_is_valid_utf8_json_with_the_exact_value() -> None:
    value = {"name": f"a{RLO}b\ud800c\U000e0041"}
    line = json_line(value)
    line.encode("utf-8")  # a lone surrogate raw would raise here
    assert line.isprintable()
    assert json.loads(line) == value  # escapes, not replacements: the value round-trips


def test_fleet_cells_and_history_cells_escape_bidi() -> None:
    from ssm_tui.ui.fleet_model import literal
    from ssm_tui.ui.widgets.history_panel import visible_line as history_cell
    from ssm_tui.ui.widgets.logs_panel import visible_line as logs_cell

    for cell in (literal(HOSTILE).plain, history_cell(HOSTILE), logs_cell(HOSTILE)):
        assert RLO not in cell and "\\u202e" in cell and "\u200b" not in cell
    assert literal("x\x1b[31m").plain == "x^[[31m"  # the fleet's cat -v form is kept


def test_logs_command_prints_transcript_lines_without_bidi() -> None:
    from ssm_tui.commands.logs import _Printer

    class Page:
        chunks = [(f"ls\r\n{HOSTILE}\r\nend\r\n", datetime.now(UTC).timestamp())]
        raw = b""

    out = io.StringIO()
    printer = _Printer(out, raw=False)
    printer.page(Page())
    printer.close()
    assert RLO not in out.getvalue() and "db\\u202egnp.exe" in out.getvalue()


@contextmanager
def _tags(profile: str, tags: dict[str, dict[str, str]]) -> Iterator[None]:
    """Hostile tags on real sandbox hybrid nodes for the test, removed after (the world stays
    the oracle for other tests)."""
    ssm = botocore.session.Session(profile=profile).create_client("ssm", region_name="us-east-1")
    try:
        for node, values in tags.items():
            items = [{"Key": k, "Value": v} for k, v in values.items()]
            ssm.add_tags_to_resource(ResourceType="ManagedInstance", ResourceId=node, Tags=items)
        yield
    finally:
        for node, values in tags.items():
            ssm.remove_tags_from_resource(
                ResourceType="ManagedInstance", ResourceId=node, TagKeys=list(values)
            )


def _rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("table", [False, True], ids=["json", "table"])
def test_list_output_escapes_bidi_and_survives_a_lone_surrogate(cli, table: bool) -> None:  # type: ignore[no-untyped-def]
    before = _rows(cli("list", "--json", "--no-cache", "-p", "prod").stdout)
    # (the sandbox's EC2 answers from its seeded world; SSM tags of hybrid nodes can be added)
    hybrid = next(r["instance_id"] for r in before if r["instance_id"].startswith("mi-"))
    hostile = {hybrid: {"Spoof": HOSTILE, "Broken": "half\ud800pair"}}
    with _tags("prod", hostile):
        args = ["list", "--no-cache", "-p", "prod"] + ([] if table else ["--json"])
        done = cli(*args)  # `cli` decodes strictly: invalid UTF-8 fails here
    assert done.returncode == 0, done.stderr
    assert RLO not in done.stdout and "\ud800" not in done.stdout
    if table:
        return
    rows = {r["instance_id"]: r for r in _rows(done.stdout)}
    assert rows[hybrid]["tags"].get("Spoof") == HOSTILE, rows[hybrid]  # the exact value
    assert rows[hybrid]["tags"]["Broken"] == "half\ud800pair"
    assert "\\u202e" in done.stdout
