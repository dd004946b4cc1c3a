"""Run Command from the app (`x` on a row, `X` on every row the filter shows): one script on
one or many instances, results per instance as they come, full output of the highlighted one.

The script goes out with SSM SendCommand (`aws/commands.py`: AWS-RunShellScript on Linux and
macOS, AWS-RunPowerShellScript on Windows; across profiles and regions; instances that are not
Online are listed as not sent). It runs on the AWS thread (`Services.aws`), never on Textual's
loop; each finished invocation comes back as a message. Leaving the screen while commands still
run cancels them (CancelCommand), so nothing keeps running unseen.

Output is AWS text: shown literally (`Text(...)`, no markup), control characters made visible.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from ssm_tui.aws.models import Instance
from ssm_tui.aws.models.commands import InvocationResult
from ssm_tui.services import CommandRun, Services
from ssm_tui.ui.fleet_model import literal

FIRST_LINE = 60
"""Characters of an invocation's first output line shown in its row."""


def shown_lines(text: str, style: str = "") -> Text:
    """Multi-line AWS output, each line literal (controls visible), the line breaks kept."""
    out = Text(style=style)
    for n, line in enumerate(text.splitlines()):
        if n:
            out.append("\n")
        out.append_text(literal(line))
    return out


def first_line(text: str) -> str:
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= FIRST_LINE else line[: FIRST_LINE - 1] + "…"


class RunScreen(Screen[None]):
    """A script box over a results table (one row per instance) and the chosen row's output."""

    BINDING_GROUP_TITLE = "Run Command"
    BINDINGS = [
        Binding("escape", "close", "Back", id="run.close", tooltip="Cancel what runs and go back"),
        Binding("ctrl+r", "focus_script", "New command", id="run.script", show=True),
    ]

    class Finished(Message):
        """One invocation ended (or was never sent): its `InvocationResult`."""

        def __init__(self, result: InvocationResult) -> None:
            super().__init__()
            self.result = result

    class AllDone(Message):
        """The run is over (every result came, or the run failed with `error`)."""

        def __init__(self, error: str = "") -> None:
            super().__init__()
            self.error = error

    def __init__(self, services: Services, instances: list[Instance]) -> None:
        super().__init__()
        self.services = services
        self.instances = instances
        self.results: dict[str, InvocationResult] = {}
        """`ssm_tui.aws.models.InvocationResult` by instance key."""
        self.running = False
        self._service: CommandRun | None = None

    def compose(self) -> ComposeResult:
        names = ", ".join(i.name or i.instance_id for i in self.instances[:5])
        more = f" and {len(self.instances) - 5} more" if len(self.instances) > 5 else ""
        title = f"Run Command on {len(self.instances)} instance(s): {names}{more}"
        yield Static(literal(title), id="run-title", markup=False)
        yield Input(placeholder="shell command, Enter runs it on every instance", id="run-script")
        yield Static("", id="run-summary", markup=False)
        table: DataTable[Text] = DataTable(id="run-results", cursor_type="row")
        yield table
        with VerticalScroll(id="run-output"):
            yield Static("", id="run-output-text", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#run-results", DataTable)
        for column in ("Instance", "Id", "Profile", "Region", "Status", "Exit", "Output"):
            table.add_column(column, key=column.lower())
        for instance in self.instances:
            table.add_row(
                literal(instance.name or "-"), Text(instance.instance_id),
                literal(instance.profile), Text(instance.region), Text("-"), Text(""), Text(""),
                key=instance.key,
            )  # fmt: skip
        self.query_one("#run-script", Input).focus()

    def action_focus_script(self) -> None:
        self.query_one("#run-script", Input).focus()

    @on(Input.Submitted, "#run-script")
    def _submitted(self, event: Input.Submitted) -> None:
        script = event.value.strip()
        if not script:
            self.notify("Type the command to run.", severity="warning", markup=False)
            return
        if self.running:
            self.notify("The last command is still running.", severity="warning", markup=False)
            return
        self.running = True
        self.results.clear()
        table = self.query_one("#run-results", DataTable)
        for instance in self.instances:
            for column in ("status", "exit", "output"):
                table.update_cell(instance.key, column, Text("…" if column == "status" else ""))
        self.query_one("#run-summary", Static).update(Text(f"running: {script}"))
        self.query_one("#run-output-text", Static).update("")
        table.focus()
        self._run(script)

    @work(group="run-command", exit_on_error=False, description="SendCommand")
    async def _run(self, script: str) -> None:
        service = self.services.command_run()
        self._service = service

        def finished(result: InvocationResult) -> None:
            self.post_message(self.Finished(result))

        error = await service.run(self.instances, script, comment="ssm-tui", on_result=finished)
        self.post_message(self.AllDone(error.message if error is not None else ""))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        result = message.result
        key = result.instance.key
        self.results[key] = result
        table = self.query_one("#run-results", DataTable)
        status = result.status
        style = "green" if status == "Success" else "red"
        code = result.exit_code
        shown = result.stdout or result.stderr or result.error
        table.update_cell(key, "status", Text(status, style=style))
        table.update_cell(key, "exit", Text("" if code is None else str(code)))
        table.update_cell(key, "output", literal(first_line(shown)))
        self._summary()
        row = table.cursor_row
        if 0 <= row < len(self.instances) and self.instances[row].key == key:
            self._show(key)

    @on(AllDone)
    def _all_done(self, message: AllDone) -> None:
        self.running = False
        self._service = None
        if message.error:
            self.notify_error(message.error)
        self._summary(done=True)

    def notify_error(self, text: str) -> None:
        self.notify(text, title="Run Command failed", severity="error", markup=False, timeout=10)

    def _summary(self, done: bool = False) -> None:
        ok = sum(1 for r in self.results.values() if r.succeeded)
        failed = len(self.results) - ok
        waiting = len(self.instances) - len(self.results)
        state = "done" if done else "running"
        self.query_one("#run-summary", Static).update(
            Text(f"{state}: {ok} succeeded, {failed} failed, {waiting} waiting")
        )

    @on(DataTable.RowHighlighted, "#run-results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show(event.row_key.value)

    def _show(self, key: str) -> None:
        result = self.results.get(key)
        output = self.query_one("#run-output-text", Static)
        if result is None:
            output.update(Text("(no result yet)", style="dim"))
            return
        text = Text()
        if result.error:
            text.append_text(shown_lines(result.error))
            text.append("\n")
        text.append_text(shown_lines(result.stdout))
        if result.stderr:
            text.append("\n--- stderr ---\n", style="dim")
            text.append_text(shown_lines(result.stderr, "red"))
        output.update(text)

    async def action_close(self) -> None:
        service = self._service
        if service is not None and self.running:
            try:
                await service.cancel()
            except Exception:  # noqa: BLE001 - leaving anyway; the commands time out on AWS
                pass
        self.dismiss(None)


def open_run(screen: Screen[Any], services: Services, every_shown: bool) -> None:
    """Push the run screen for the highlighted row, or every row the fleet shows now."""
    from ssm_tui.ui.widgets.fleet_view import FleetView

    fleet = screen.query_one(FleetView)
    table = fleet.table
    if every_shown:
        rows = [fleet.model.rows.get(key) for key in table.visible_keys()]
    else:  # the marked rows when there are (issue 16), else the highlighted one
        rows = fleet.marked_rows() or [table.cursor_row]
    instances = [row.instance for row in rows if row is not None and row.instance.ping_status]
    if not instances:
        screen.notify("No managed instance to run a command on.", markup=False)
        return
    screen.app.use_styles("run")  # type: ignore[attr-defined]
    screen.app.push_screen(RunScreen(services, instances))
