"""Named port forwards opened and closed at will: one headless manager for the CLI and the app.

`ssm-tui forward NAME` runs one forward until Ctrl-C; the app's forwards screen (`F`) lists every
`[forwards.NAME]` of the settings and opens and closes them while the app runs. Both go through
`ForwardManager`, which owns each forward's task (`plugin.forwarding.keep_forward`: one local
port, a new session when the service ends one, a resumed socket when it closes one) and its live
`ForwardStatus`, and says in one word where each stands:

- `closed`: not open (never opened, or closed by the user);
- `starting`: the first StartSession and data channel are on their way;
- `listening`: the local port accepts connections;
- `reconnecting`: the service closed the socket (ResumeSession under way) or ended the session
  (a new one starts on the same port after a short pause);
- `failed`: the forward cannot go on (the target is unknown, the first session was refused, the
  local port is taken): `Forward.error` says why.

No Textual here: the app runs the manager on its AWS thread (off the UI loop) and reads the
records it keeps; the CLI runs it on its own loop. `close_all` ends every session with
TerminateSession, so closing the app leaves none Active.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssm_tui.plugin.forwarding import (
    RESTART_DELAYS,
    ForwardSpec,
    ForwardStatus,
    ForwardStopped,
    human_bytes,
    keep_forward,
    status_line,
)

STATES = ("closed", "starting", "listening", "reconnecting", "failed")
_WORDS = {
    "starting": "starting",
    "open": "listening",
    "reconnecting": "reconnecting",
    "restarting": "reconnecting",
    "stopped": "closed",
}


@dataclass
class Forward:
    """One named forward and where it stands (the manager updates it in place)."""

    name: str
    settings: Any
    """Its `ForwardSettings` (target, remote_host, remote_port, local_port, profile)."""
    spec: ForwardSpec | None = None
    status: ForwardStatus = field(default_factory=ForwardStatus)
    error: str = ""
    """Why it failed (state `failed`)."""
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event | None = None

    @property
    def is_open(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def state(self) -> str:
        if self.error:
            return "failed"
        if not self.is_open:
            return "closed"
        return _WORDS.get(self.status.state, self.status.state)

    @property
    def destination(self) -> str:
        where = self.settings.remote_host or self.settings.target
        return f"{where}:{self.settings.remote_port}"

    @property
    def local(self) -> str:
        port = self.status.local_port or self.settings.local_port
        return f"127.0.0.1:{port or 'free port'}"

    def line(self) -> str:
        """`db  listening  127.0.0.1:15432 -> db.internal:5432 via bastion-1 · 2 conn · ...`."""
        status = self.status
        parts = [f"{self.name}  {self.state}  {self.local} -> {self.destination}"]
        parts[0] += f" via {self.settings.target}"
        if self.state == "failed":
            return f"{parts[0]} · {self.error}"
        if status.sessions or self.is_open:
            parts.append(f"{status.connections} conn ({status.active} active)")
            parts.append(f"in {human_bytes(status.received)} out {human_bytes(status.sent)}")
            if status.since:
                import time

                parts.append("since " + time.strftime("%H:%M:%S", time.localtime(status.since)))
            parts.append(f"sessions {status.sessions}")
            if status.reconnects:
                parts.append(f"socket reconnects {status.reconnects}")
        if self.state == "reconnecting" and status.message:
            parts.append(status.message)
        return " · ".join(parts)


@dataclass(frozen=True)
class AdHocForward:
    """A forward that is not in the settings (the app's RDP action): `ForwardSettings`' fields."""

    target: str
    remote_port: int
    remote_host: str | None = None
    local_port: int = 0
    profile: str | None = None


def spec_for(name: str, settings: Any, instance: Any) -> ForwardSpec:
    """The forward `settings` describes, through the node `instance` (an `Instance`)."""
    return ForwardSpec(
        name=name,
        target=instance.instance_id,
        profile=instance.profile,
        region=instance.region,
        remote_port=settings.remote_port,
        remote_host=settings.remote_host,
        local_port=settings.local_port,
    )


def resolve(instances: Iterable[Any], settings: Any) -> Any:
    """The node a forward goes through, among `instances` (its `profile`'s when it names one).

    Raises `SsmTuiError` (none, offline, or several online of that name) with the message the
    CLI gives for the same target."""
    from ssm_tui.commands.targets import one_target

    pool = [i for i in instances if not settings.profile or i.profile == settings.profile]
    return one_target(pool, settings.target)


class ForwardManager:
    """Every named forward: open, close, and their live records (one event loop owns them)."""

    def __init__(
        self,
        forwards: Mapping[str, Any],
        on_change: Callable[[Forward], None] = lambda _forward: None,
        delays: tuple[float, ...] = RESTART_DELAYS,
    ) -> None:
        self.forwards: dict[str, Forward] = {
            name: Forward(name, settings) for name, settings in sorted(forwards.items())
        }
        self.on_change = on_change
        self.delays = delays

    def __iter__(self) -> Any:
        return iter(list(self.forwards.values()))

    def get(self, name: str) -> Forward | None:
        return self.forwards.get(name)

    @property
    def open_names(self) -> list[str]:
        return [f.name for f in self if f.is_open]

    def add(self, name: str, settings: Any) -> Forward:
        """A forward not in the settings (`ssm-tui forward TARGET --remote-port`)."""
        forward = self.forwards.setdefault(name, Forward(name, settings))
        forward.settings = settings
        return forward

    def open(self, name: str, spec: ForwardSpec) -> Forward:
        """Start forwarding `name` through `spec`'s node (returns at once; a task runs it)."""
        forward = self.forwards[name]
        if forward.is_open:
            return forward
        forward.spec = spec
        forward.error = ""
        forward.status = ForwardStatus()
        forward.stop = asyncio.Event()
        forward.task = asyncio.get_running_loop().create_task(
            self._run(forward), name=f"forward {name}"
        )
        self.on_change(forward)
        return forward

    def fail(self, name: str, reason: str) -> Forward:
        """Mark `name` failed before it could open (its target could not be resolved)."""
        forward = self.forwards[name]
        forward.error = reason
        self.on_change(forward)
        return forward

    async def _run(self, forward: Forward) -> None:
        assert forward.spec is not None and forward.stop is not None

        def changed(_status: ForwardStatus) -> None:
            self.on_change(forward)

        try:
            await keep_forward(forward.spec, forward.status, forward.stop, changed, self.delays)
        except ForwardStopped as exc:
            forward.error = str(exc)
        finally:
            self.on_change(forward)

    async def wait(self, name: str) -> None:
        """Until `name` stops (closed, or failed: ForwardStopped with the reason)."""
        forward = self.forwards[name]
        if forward.task is not None:
            await asyncio.shield(forward.task)
        if forward.error:
            raise ForwardStopped(forward.error)

    async def close(self, name: str) -> None:
        """Stop `name`: its session ends with TerminateSession, its local port closes."""
        forward = self.forwards.get(name)
        if forward is None or forward.task is None:
            return
        if forward.stop is not None:
            forward.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.shield(forward.task)
        self.on_change(forward)

    async def close_all(self) -> None:
        """Stop every open forward (the app's exit path): no session is left Active."""
        await asyncio.gather(*(self.close(f.name) for f in self), return_exceptions=True)


def status_of(forward: Forward) -> str:
    """The CLI's one-line status (the format `ssm-tui forward` has always printed)."""
    if forward.spec is None:
        return forward.line()
    return status_line(forward.spec, forward.status)
