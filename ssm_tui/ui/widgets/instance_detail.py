"""The instance detail panel (`d`): everything known about the highlighted node, beside the fleet.

Every tag, the EC2 state, type, AMI, VPC, subnet and IAM role, the agent and platform, every
profile that reaches the node (the one Enter uses first; denied ones marked), who is connected
now (every Active session AWS reports, with its start time, issues 15/17; then this app's open
sessions and this machine's unfinished ones AWS did not list) and its last sessions from the
local record. It follows the fleet cursor. AWS text is shown literally.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ssm_tui.nodes import Reach, is_denied, ranked
from ssm_tui.timefmt import format_time
from ssm_tui.ui.fleet_model import FleetRow, format_last_ping, literal


def _line(text: Text, label: str, value: str) -> None:
    text.append(f"{label:<14}", style="bold")
    text.append_text(literal(value or "-"))
    text.append("\n")


def detail_text(
    row: FleetRow,
    reach: Reach,
    now: datetime,
    live: Sequence[Any],
    recent: Sequence[Any],
    connected: Sequence[Any] = (),
    unknown: Sequence[str] = (),
    asked: bool = False,
) -> Text:
    """The panel's text for one row (`live`: StartedSession, `recent`: store.LocalSession,
    `connected`: aws.active.Connected from DescribeSessions, `unknown`: why AWS did not say for
    some profiles, `asked`: AWS answered for this node's profiles at least once)."""
    i = row.instance
    out = Text(no_wrap=False, end="")
    out.append_text(literal(i.name))
    out.stylize("bold", 0, len(out))
    out.append("\n\n")
    _line(out, "Instance", i.instance_id)
    _line(out, "Status", i.ping_status)
    ping = format_last_ping(i.last_ping, now)
    _line(out, "Last ping", "never" if i.last_ping is None else f"{ping} ago")
    account = f"{i.account_label} ({i.account_id})" if i.account_label else i.account_id
    _line(out, "Account", account)
    _line(out, "Region", i.region)
    _line(out, "EC2 state", i.instance_state)
    _line(out, "Type", i.instance_type)
    _line(out, "AMI", i.image_id)
    _line(out, "VPC", i.vpc_id)
    _line(out, "Subnet", i.subnet_id)
    _line(out, "IAM role", i.iam_role)
    _line(out, "IP", i.ip_address)
    _line(out, "Computer", i.computer_name)
    platform = i.platform_name or i.platform_type
    if i.platform_name and i.platform_type:
        platform = f"{i.platform_name} ({i.platform_type})"
    _line(out, "Platform", platform)
    _line(out, "Agent", i.agent_version)
    _line(out, "Resource", i.resource_type)
    out.append("\nProfiles\n", style="bold underline")
    for n, view in enumerate(ranked(row.views, reach)):
        out.append("→ " if n == 0 else "  ")
        out.append_text(literal(view.profile))
        if is_denied(reach, view):
            out.append("  denied by AWS on this instance", style="red")
        elif n == 0:
            out.append("  (Enter uses it)", style="dim")
        out.append("\n")
    out.append("\nConnected now\n", style="bold underline")
    for session in connected:  # issues 15/17: from AWS, whoever started them
        since = "" if session.start is None else f"since {format_time(session.start, label=True)}  "
        out.append_text(literal(session.person))
        out.append(f"  {since}", style="dim")
        out.append_text(literal(session.session_id))
        if session.reason:
            out.append("  reason: ", style="dim")
            out.append_text(literal(session.reason))
        if session.hint:
            out.append(f"\n  {session.hint}", style="dim")
        out.append("\n")
    for why in unknown:
        note = literal(f"AWS did not say for {why}")
        note.stylize("yellow")
        out.append_text(note)
        out.append("\n")
    listed = {session.session_id for session in connected}
    live = [session for session in live if session.session_id not in listed]
    if not live and not connected:
        said = "nobody" if asked and not unknown else "nobody else known"
        out.append(said + ("\n" if asked else " (only this machine's sessions)\n"), style="dim")
    for session in live:
        out.append_text(literal(f"{session.session_id}  via {session.profile}"))
        out.append("\n")
    out.append("\nLast sessions\n", style="bold underline")
    if not recent:
        out.append("none recorded here\n", style="dim")
    for s in recent:
        ended = "open" if s.ended_at is None else s.ended_at.strftime("%H:%M")
        line = f"{s.started_at:%Y-%m-%d %H:%M}–{ended}  {s.profile}  {s.document_name or 'shell'}"
        out.append_text(literal(line))
        out.append("\n")
    out.append("\nTags\n", style="bold underline")
    if not i.tags:
        out.append("no tags\n", style="dim")
    for key, value in sorted(i.tags.items()):
        out.append_text(literal(key))
        out.append(" = ", style="dim")
        out.append_text(literal(value))
        out.append("\n")
    return out


class InstanceDetail(VerticalScroll):
    """Detail of the highlighted fleet row; `show(row)` redraws it."""

    DEFAULT_CSS = """
    InstanceDetail { height: 1fr; padding: 0 1; }
    """

    def __init__(self, services: Any, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.services = services
        self.key: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="instance-detail-body", markup=False)

    def show(self, row: FleetRow | None, reach: Reach) -> None:
        body = self.query_one("#instance-detail-body", Static)
        if row is None:
            self.key = None
            body.update(Text("No instance highlighted."))
            return
        self.key = row.key
        iid = row.instance.instance_id
        live = [s for s in getattr(self.app, "live_sessions", {}).values() if s.target == iid]
        recent: list[Any] = []
        store = self.services.get_store()
        if store is not None:
            try:
                recent = store.local_sessions(iid, limit=5)
            except Exception:  # noqa: BLE001 - the record is a convenience
                recent = []
        live_ids = {s.session_id for s in live}
        live = [*live, *(s for s in recent if s.ended_at is None and s.session_id not in live_ids)]
        connected, unknown, asked = self._connected(row)
        body.update(
            detail_text(row, reach, self.services.clock(), live, recent, connected, unknown, asked)
        )

    def _connected(self, row: FleetRow) -> tuple[Sequence[Any], list[str], bool]:
        """The fleet's Active sessions on this node, the profiles AWS did not answer for, and
        whether AWS answered for any of its profiles yet."""
        for fleet in self.screen.query("FleetView"):  # by name: no import cycle with the view
            errors = getattr(fleet, "who_errors", {})
            unknown = [
                f"{scope.profile}/{scope.region}: {error.message}"
                for scope, error in errors.items()
                if scope in row.scopes
            ]
            asked = any(scope in row.scopes for scope in getattr(fleet, "_who_by_scope", {}))
            return getattr(fleet, "connected", {}).get(row.key, ()), unknown, asked
        return (), [], False
