"""Every session's life, without a UI: StartSession → plugin command → record → TerminateSession.

The app owns one `SessionManager` (`SsmTuiApp.sessions`) and the terminal panes run the plugin
processes it describes; tests drive it directly against the sandbox. It holds the registry that
lets quitting, SIGTERM and SIGHUP end whatever is still open:

- *starting*: StartSession calls not answered yet. Once the request left, AWS may open the session
  whatever happens to the caller, so the call is shielded and its answer is registered even when
  the caller (a tab's worker) was cancelled; closing waits for them (`START_WAIT`).
- *open*: sessions StartSession opened and TerminateSession has not ended (`open`).
- *ending*: TerminateSession calls under way, one per session however many callers ask.
- *recorded*: sessions written to the local record whose end is not written yet; the end is
  written once (the plugin exiting, the tab closing and the exit path all say so).

Every AWS call goes through the services object, on its AWS loop; `end_all_now` is the one
entry for a thread that must not wait on any event loop but the AWS one (the exit watchdog).
No Textual here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import TYPE_CHECKING, NamedTuple

from ssm_tui.aws.models import Instance, StartedSession
from ssm_tui.services import DocumentChoice, Services, StartFailed

if TYPE_CHECKING:
    from ssm_tui.plugin.launcher import PluginLaunch

log = logging.getLogger(__name__)

START_WAIT = 10.0
"""Seconds closing waits for StartSession calls in flight (to end what they open)."""
TERMINATE_TIMEOUT = 10.0
"""Seconds closing waits for TerminateSession calls before giving up."""


class OpenedSession(NamedTuple):
    """A session AWS opened and how to run its plugin (`ssm_tui.plugin.launcher.PluginLaunch`).

    `login_command` is typed into a new shell once it printed its prompt (shell documents only).
    """

    started: StartedSession
    launch: PluginLaunch
    login_command: str | None


class SessionManager:
    """The sessions of one app run (or one test): start, launch, record, end, and close all."""

    def __init__(self, services: Services) -> None:
        self.services = services
        """`ssm_tui.services.Services`: StartSession, TerminateSession, plugin, local record."""
        self.open: dict[str, StartedSession] = {}
        """Sessions StartSession opened and TerminateSession has not yet ended."""
        self._starting: set[asyncio.Future[StartedSession]] = set()
        self._ending: dict[str, asyncio.Future[None]] = {}
        self._recorded: set[str] = set()
        self._closing = False

    @property
    def closing(self) -> bool:
        """`close` has begun: a StartSession answering now gets no plugin (it is ended)."""
        return self._closing

    @property
    def starting(self) -> int:
        """StartSession calls not answered yet."""
        return len(self._starting)

    # -- start -----------------------------------------------------------------------------
    async def start(
        self, profile: str, region: str, target: str, choice: DocumentChoice
    ) -> StartedSession:
        """StartSession, registered in `open` the moment AWS answers, even when the caller
        was cancelled meanwhile."""
        future = asyncio.wrap_future(self.services.submit_start(profile, region, target, choice))
        self._starting.add(future)
        future.add_done_callback(self._start_answered)
        return await asyncio.shield(future)

    def _start_answered(self, future: asyncio.Future[StartedSession]) -> None:
        self._starting.discard(future)
        if future.cancelled() or future.exception() is not None:
            return
        started = future.result()
        self.open[started.session_id] = started

    async def open_session(
        self, instance: Instance, choice: DocumentChoice
    ) -> OpenedSession | None:
        """StartSession on `instance`, then how to run its plugin and the login command.

        None when closing began meanwhile (the session is registered; closing ends it). Any
        failure is a `StartFailed` holding the explained error; the plugin is looked up
        before StartSession, so a missing one starts no session.
        """
        program = self.services.plugin_program()
        started = await self.start(instance.profile, instance.region, instance.instance_id, choice)
        if self._closing:
            return None
        try:
            launch = self.services.plugin_command(started, program)
        except StartFailed:  # its pipes could not be made: end the session it is for
            await self.end(started)
            raise
        login = None
        if choice.document_name is None:
            settings = self.services.get_settings()
            login = settings.login_command_for(instance.profile, instance.instance_id)
        return OpenedSession(started, launch, login)

    # -- the local record ------------------------------------------------------------------
    def record_start(self, started: StartedSession, account_id: str, plugin: str) -> None:
        """The plugin runs: write the session to the local record."""
        self._recorded.add(started.session_id)
        self.services.record_start(started, account_id, plugin)

    def record_end(self, session_id: str, exit_status: int | None = None) -> bool:
        """Write the session's end once; False when it was written already (or never begun)."""
        if session_id not in self._recorded:
            return False
        self._recorded.discard(session_id)
        self.services.record_end(session_id, exit_status)
        return True

    def record_all_ends(self) -> None:
        for session_id in list(self._recorded):
            self.record_end(session_id, None)

    # -- end -------------------------------------------------------------------------------
    async def end(self, started: StartedSession) -> None:
        """TerminateSession once per session, however many callers ask (tab close, exit, quit).

        The call runs in its own task, shielded: cancelling a caller (a closed tab's worker,
        the app exiting) never abandons a TerminateSession half-way.
        """
        session_id = started.session_id
        task = self._ending.get(session_id)
        if task is None:
            if session_id not in self.open:
                return
            task = asyncio.ensure_future(self._terminate(started))
            self._ending[session_id] = task
        await asyncio.shield(task)

    async def end_id(self, session_id: str) -> None:
        """`end` the open session of that id, if it is still open."""
        started = self.open.get(session_id)
        if started is not None:
            await self.end(started)

    async def _terminate(self, started: StartedSession) -> None:
        try:
            await self.services.terminate_session(started)
        except Exception as exc:  # noqa: BLE001 - the session may already be gone
            log.warning("TerminateSession %s failed: %s", started.session_id, exc)
        finally:
            self.open.pop(started.session_id, None)
            self._ending.pop(started.session_id, None)

    async def end_all(self) -> None:
        """End every open session and wait for calls already under way."""
        sessions = list(self.open.values())
        pending = [*(self.end(s) for s in sessions), *self._ending.values()]
        if not pending:
            return
        try:
            await asyncio.wait_for(
                asyncio.gather(*pending, return_exceptions=True), TERMINATE_TIMEOUT
            )
        except TimeoutError:
            log.warning("TerminateSession timed out for %d session(s)", len(self.open))

    async def wait_for_starts(self) -> None:
        if not self._starting:
            return
        _done, pending = await asyncio.wait(set(self._starting), timeout=START_WAIT)
        if pending:
            log.warning("%d StartSession call(s) unanswered at exit", len(pending))

    async def close(self) -> None:
        """No new plugin from now on; wait for StartSession calls in flight, write every
        end, and end every session. The plugin processes are the caller's to stop first."""
        self._closing = True
        await self.wait_for_starts()
        self.record_all_ends()
        await self.end_all()

    def begin_closing(self) -> None:
        """A StartSession answering from now on opens no plugin (`open_session` gives None)."""
        self._closing = True

    # -- last resorts ----------------------------------------------------------------------
    def end_all_now(self, timeout: float) -> None:
        """From any thread, waiting on no event loop but the AWS one: TerminateSession for
        every open session, at most `timeout` seconds, then write every end."""
        sessions = list(self.open.values())
        futures: list[concurrent.futures.Future[None]] = []
        for started in sessions:
            try:
                futures.append(self.services.submit_terminate(started))
            except Exception:  # noqa: BLE001 - leaving anyway
                log.exception("could not send TerminateSession")
        if futures:
            concurrent.futures.wait(futures, timeout=timeout)
        for started in sessions:
            self._recorded.discard(started.session_id)
            self.services.record_end(started.session_id, None)

    def end_leftovers(self) -> None:
        """After the app's loop stopped (crash path): end what is still open on a new loop."""
        if not self.open:
            return
        count = len(self.open)

        async def end_them() -> None:
            self._ending.clear()  # tasks of the closed loop; start afresh on this one
            await self.end_all()
            self.services.aws.stop()

        try:
            asyncio.run(end_them())
        except Exception:  # noqa: BLE001 - nothing more can be done; logged
            log.exception("could not end %d session(s)", count)
