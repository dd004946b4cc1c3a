"""The app's one seam to the layers below: profiles, inventory, cache, sessions, plugin, settings.

Screens call these methods from workers; nothing here touches a widget, and nothing here imports
Textual: the CLIs use the same object and functions (`select_profiles`). The real modules are
imported lazily so the first frame never waits for botocore, and a test or benchmark can pass a
`Services` built on a prepared store. Widgets get loader callables from here (`history`,
`transcript_listings`, `transcript_source`), never the AWS modules themselves.

Every AWS coroutine runs on a separate event loop in one background thread (`AwsLoop`), never
on Textual's loop: building aiobotocore clients parses service models and resolves credentials
synchronously (measured: the UI loop stalled up to 8 s while 80 scopes started), and a UI must
keep answering keys meanwhile. Results come back as awaited futures or thread-safe messages.
The thread's loop is long-lived, so cached botocore sessions (and their credentials) survive
from one refresh to the next.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from ssm_tui.aws.models import Instance, Profile, Scope, ScopeError, ScopeResult, StartedSession

if TYPE_CHECKING:
    from ssm_tui.aws.audit import AuditResult, Query, Watcher
    from ssm_tui.aws.logs import TranscriptPage, TranscriptReader
    from ssm_tui.aws.models.commands import InvocationResult
    from ssm_tui.aws.models.history import HistoryResult
    from ssm_tui.aws.models.logs import LogsProblem, TranscriptListing, TranscriptRef
    from ssm_tui.plugin.launcher import PluginLaunch

log = logging.getLogger(__name__)
T = TypeVar("T")
NO_PROFILES_HINT = "run `aws configure` or set AWS_CONFIG_FILE"


def select_profiles(
    names: Sequence[str] | None,
    settings: Any,
    *,
    extra: Sequence[Profile] = (),
    include_discovered: bool = False,
    required: bool = True,
) -> list[Profile]:
    """The profiles a command works on: the ones named (each must exist, in the given order,
    once), else every profile of the AWS config plus `extra` (SSO discoveries) that the
    settings do not hide (`include_discovered`: with the SSO profiles discovered so far).

    One rule for the app and every CLI. `required`: finding none is a `NoProfilesError` with
    the next step (the CLIs exit 2 with it); the app passes False and shows an empty fleet.
    Raises `ConfigError` for a malformed config and `UnknownProfileError` for a bad name.
    """
    from ssm_tui.aws.profiles import get_profile, load_profiles

    if names:
        profiles = [get_profile(name) for name in dict.fromkeys(names)]
    else:
        written = load_profiles(include_discovered=include_discovered)
        profiles = [p for p in [*written, *extra] if not settings.is_hidden(p.name)]
    if not profiles and required:
        from ssm_tui.aws.exceptions import NoProfilesError

        raise NoProfilesError("no AWS profiles found", NO_PROFILES_HINT)
    return profiles


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Unhandled errors on the AWS loop go to the log, never to the user's terminal."""
    log.debug("AWS loop: %s", context.get("message"), exc_info=context.get("exception"))


class AwsLoop:
    """An asyncio loop in a daemon thread for every AWS call (started on first use).

    With a `context` (`ssm_tui.aws.context.AwsContext`), every coroutine submitted runs with
    it installed: what the AWS layer learns belongs to this loop's owner, not the process.
    """

    def __init__(self, context: Any = None) -> None:
        self.context = context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                loop.set_exception_handler(_quiet)
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="ssm-tui-aws", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start `coro` on the AWS loop, in a context of its own (`_in_context`'s only).

        Not the caller's: asyncio copies the submitting thread's context into the task, and
        from there into every handle it schedules, so a long-lived client's keep-alive timer
        would hold the UI's context (Textual's active worker, and through it the closed session
        view that worker closed) for as long as the client lives.
        """
        if self.context is not None:
            coro = _in_context(self.context, coro)
        loop = self._ensure()
        return contextvars.Context().run(asyncio.run_coroutine_threadsafe, coro, loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` run on the AWS loop; cancelling the caller cancels it there too."""
        return await asyncio.wrap_future(self.submit(coro))

    def stop(self, timeout: float = 2.0) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def cancel_all() -> None:
            """Cancel what still runs (a refresh) so every coroutine unwinds on its own loop."""
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # as `asyncio.run` does: what lives for the loop (the AWS clients) closes with it
            await asyncio.get_running_loop().shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout)
        except Exception:  # noqa: BLE001 - stopping anyway
            log.warning("AWS calls did not stop in %.0f s", timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


class StartFailed(Exception):
    """No session to show: StartSession failed, or the plugin cannot run (a session it had
    opened is ended first). `error` says why, with the next step, for the profile used."""

    def __init__(self, error: ScopeError) -> None:
        super().__init__(error.message)
        self.error = error


async def _explained(coro: Coroutine[Any, Any, T], profile: str, region: str) -> T:
    """`coro`'s result; its failure as a `StartFailed` explained for `profile` (on the AWS
    loop, where the explaining reads the profile's kind)."""
    try:
        return await coro
    except Exception as exc:  # noqa: BLE001 - explained for the caller to show
        from ssm_tui.aws.errors import explain

        raise StartFailed(explain(exc, profile, region)) from exc


async def _in_context(context: Any, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` with the AWS context installed (for this task and the tasks it starts)."""
    from ssm_tui.aws.context import install

    install(context)
    return await coro


class ScopeChoice(NamedTuple):
    """Profiles to show (names), and regions (empty: each profile's own)."""

    profiles: tuple[str, ...]
    regions: tuple[str, ...] = ()


@dataclass
class DocumentChoice:
    """What kind of session to start: a shell, port forwarding, or an interactive command."""

    document_name: str | None = None
    """None = the default shell document (SSM-SessionManagerRunShell)."""
    parameters: dict[str, list[str]] = field(default_factory=dict)
    label: str = "shell"
    local_port: int | None = None
    reason: str | None = None
    """audit (issue 17): the StartSession Reason (asked for where the profile requires one)."""


class TranscriptSource(NamedTuple):
    """The transcript viewer's two calls: `find(profile, region, session_id)` -> (refs,
    problems), and `open(ref)`, an async context giving a reader with `next_page()`."""

    find: Callable[[str, str, str], Awaitable[tuple[list[TranscriptRef], list[LogsProblem]]]]
    open: Callable[[TranscriptRef], AbstractAsyncContextManager[PageReader]]


class PageReader:
    """A transcript reader living on the AWS loop, read from another loop page by page."""

    def __init__(self, aws: AwsLoop, reader: TranscriptReader) -> None:
        self._aws = aws
        self._reader = reader

    async def next_page(self) -> TranscriptPage:
        return await self._aws.run(self._reader.next_page())


class CommandRun:
    """One Run Command from the app (`aws.commands`), on the AWS loop: each instance's result
    as it comes, the run's own failure explained, and `cancel` from any loop."""

    def __init__(self, aws: AwsLoop) -> None:
        from ssm_tui.aws.commands import CommandService

        self._aws = aws
        self._service = CommandService()

    async def run(
        self,
        instances: Sequence[Instance],
        script: str,
        *,
        comment: str = "",
        on_result: Callable[[InvocationResult], None] | None = None,
    ) -> ScopeError | None:
        """Run `script`; None when every invocation was followed to its end, else why not
        (a failing scope is one of the results, not this)."""
        from ssm_tui.aws.errors import explain

        try:
            await self._aws.run(
                self._service.run(list(instances), script, comment=comment, on_result=on_result)
            )
        except Exception as exc:  # noqa: BLE001 - explained for the caller to show
            return explain(exc, None)
        return None

    async def cancel(self) -> None:
        """CancelCommand for every command still followed: nothing keeps running unseen."""
        await self._aws.run(self._service.cancel())


@dataclass
class Services:
    """Lazy handles on the services; one instance per app run."""

    settings: Any = None
    """`ssm_tui.aws.settings.Settings` (loaded on first use when None)."""
    store: Any = None
    """`ssm_tui.store.Store` (opened on first use when None; False disables the cache)."""
    _inventory: Any = None
    context: Any = None
    """`ssm_tui.aws.context.AwsContext`: what the AWS layer learns for this object (sessions,
    identities, account aliases); a fresh one when None. `forget()` clears it."""
    aws: AwsLoop = field(default_factory=AwsLoop)
    """Where every AWS coroutine runs (see the module docstring), with `context` installed."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """"Now" for last-ping ages; tests and screenshots freeze it."""
    account_lookup: bool = True
    """Ask AWS for account aliases (rows' labels, the picker's accounts); off in snapshots,
    which seed the aliases with `accounts.remember_alias` and must make no extra call."""
    active_lookup: bool = True
    """issues 15/17: ask DescribeSessions (Active) after each refresh, for who is connected; off
    in snapshots, where the shared sandbox's other sessions would change the frame."""
    initial_profiles: tuple[str, ...] = ()
    """`ssm-tui --profile`: the fleet opens on these (empty: every profile)."""
    initial_regions: tuple[str, ...] = ()
    """`ssm-tui --region`: instead of each profile's own regions."""
    initial_filter: str = ""
    """`ssm-tui --filter`: the filter box's text at start."""
    cache_widths: Callable[[Sequence[Instance]], list[int]] | None = None
    """The display's column widths over a listed scope, saved beside it in the cache so a first
    frame has the whole fleet's columns; the UI supplies it (`ui.fleet_model.cache_widths`):
    the services know nothing of columns."""
    _writer: concurrent.futures.ThreadPoolExecutor | None = None
    _writes: list[concurrent.futures.Future[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.context is None:
            from ssm_tui.aws.context import AwsContext

            self.context = AwsContext()
        self.aws.context = self.context

    @classmethod
    def of(cls, host: object) -> Services:
        """The services object `host` holds (`SsmTuiApp.services`): a widget mounted without
        loaders loads through its app's. Raises `TypeError` when the host has none."""
        services = getattr(host, "services", None)
        if not isinstance(services, cls):
            raise TypeError(f"{type(host).__name__} holds no Services")
        return services

    @staticmethod
    def explain(
        exc: BaseException, profile: str | None = None, region: str | None = None
    ) -> ScopeError:
        """A failure as the user reads it: what went wrong and the next step (`aws.errors`)."""
        from ssm_tui.aws.errors import explain

        return explain(exc, profile, region)

    def forget(self) -> None:
        """Forget every session, identity and account name learnt (after `aws sso login`)."""
        self.context.forget()

    # -- settings & profiles ---------------------------------------------------------------
    def get_settings(self) -> Any:
        if self.settings is None:
            from ssm_tui.aws.settings import Settings, load_settings

            try:
                self.settings = load_settings()
            except Exception:  # noqa: BLE001 - a broken settings file must not stop the app
                log.exception("settings file unreadable; using defaults")
                self.settings = Settings.model_construct()  # the defaults, without the environment
            from ssm_tui import timefmt

            timefmt.configure(getattr(self.settings, "utc_times", False))
        if self.context.settings is None:
            self.context.settings = self.settings  # the AWS layer reads these, not the file
        return self.settings

    def load_profiles(self, include_discovered: bool = False) -> list[Profile]:
        """Profiles of the AWS config; raises `ConfigError` when the file is malformed."""
        return select_profiles(
            None, self.get_settings(), include_discovered=include_discovered, required=False
        )

    async def accounts(self, profiles: Sequence[Profile]) -> tuple[list[Any], list[Any]]:
        """SSO discovery, then profiles grouped by account: ([Account], [ScopeError])."""
        from ssm_tui.aws.accounts import discover_sso, group_accounts

        async def resolve() -> tuple[list[Any], list[Any]]:
            found, errors = await discover_sso(list(profiles))
            accounts, more = await group_accounts([*profiles, *found])
            return accounts, [*errors, *more]

        return await self.aws.run(resolve())

    async def config_problems(self) -> list[str]:
        """What is wrong with the AWS config files now (file and line each), read on the AWS
        thread; the app keeps them on screen until they are fixed (issue 13)."""
        from ssm_tui.aws.profiles import config_problems

        async def read() -> list[str]:
            return [problem.message for problem in config_problems()]

        try:
            return await self.aws.run(read())
        except Exception as exc:  # noqa: BLE001 - the problem is then the reading itself
            return [str(exc)]

    def scopes(self, profiles: Sequence[Profile], regions: Sequence[str] | None) -> list[Scope]:
        """Profile × region units to list: each profile's regions, or exactly `regions` if given."""
        if regions:
            return [Scope(p.name, region) for p in profiles for region in regions]
        from ssm_tui.aws.inventory import default_scopes

        return default_scopes(profiles, None, self.get_settings())

    # -- inventory -------------------------------------------------------------------------
    def inventory(self) -> Any:
        if self._inventory is None:
            from ssm_tui.aws.inventory import InventoryService

            self._inventory = InventoryService()
        return self._inventory

    async def stream(
        self, scopes: Sequence[Scope], on_result: Callable[[ScopeResult], None]
    ) -> None:
        """Call `on_result` (from the AWS thread) with each scope's result as it completes.

        Errors are results, not exceptions. Cancelling the awaiting task cancels the listing.
        """

        async def consume() -> None:
            labelling: set[asyncio.Task[None]] = set()
            try:
                async for result in self.inventory().stream(list(scopes)):
                    labelling.add(asyncio.ensure_future(deliver(result)))
                await asyncio.gather(*labelling)
            finally:
                for task in labelling:
                    task.cancel()

        async def deliver(result: ScopeResult) -> None:
            try:
                result = await self.labelled(result)
            except Exception:  # noqa: BLE001 - a label is never worth losing the rows
                log.exception("account labels for %s", result.scope)
            on_result(result)

        await self.aws.run(consume())

    async def labelled(self, result: ScopeResult) -> ScopeResult:
        """The result with every row's account label set to the IAM alias, else the profile.

        The inventory labels rows with whatever name it knew at that moment (an SSO account
        name, an alias, nothing yet), so labels changed with timing; here the alias is asked
        once per account before the rows are shown (`account_lookup`; otherwise only an alias
        already known counts), so a row's label is the same on every refresh.
        """
        from ssm_tui.aws import accounts

        if not result.instances:
            return result
        profile = result.scope.profile
        labels: dict[str, str] = {}
        for account in {i.account_id for i in result.instances}:
            alias = accounts.cached_alias(account)
            if alias is None and self.account_lookup:
                alias = await accounts.iam_alias(profile, account)
            labels[account] = alias or profile
        if all(i.account_label == labels[i.account_id] for i in result.instances):
            return result
        return result._replace(
            instances=tuple(
                dataclasses.replace(i, account_label=labels[i.account_id]) for i in result.instances
            ),
        )

    async def active_sessions(self, scopes: Sequence[Scope]) -> list[Any]:
        """issues 15/17: DescribeSessions State=Active of each scope on the AWS loop, one
        `aws.active.ActiveResult` each (a failing scope is an error there, never a raise)."""
        from ssm_tui.aws.active import active_in

        return await self.aws.run(active_in(list(scopes)))

    def get_store(self) -> Any:
        if self.store is None:
            try:
                from ssm_tui.store import Store

                self.store = Store()
            except Exception:  # noqa: BLE001 - no cache is a slower start, not a failure
                log.exception("store unavailable; running without the cache")
                self.store = False
        return self.store or None

    def cached(self) -> list[ScopeResult]:
        """The last inventory of every scope from the cache."""
        store = self.get_store()
        if store is None:
            return []
        try:
            return list(store.load_inventory())
        except Exception:  # noqa: BLE001
            log.exception("inventory cache unreadable")
            return []

    def cached_head(self, limit: int) -> Any:
        """The cache's first Online rows by name and its counts (`store.CacheHead`), or None.

        None when there is no cache or it cannot say how wide the columns are: the caller then
        draws from `cached()`.
        """
        store = self.get_store()
        if store is None:
            return None
        try:
            head = store.first_online_by_name(limit)
        except Exception:  # noqa: BLE001
            log.exception("inventory cache unreadable")
            return None
        return head if head.widths is not None and head.instances else None

    def save(self, result: ScopeResult) -> None:
        """Cache a listed scope, on the cache's own thread (writes never stall the UI loop).

        Writes run in order on one thread; `flush` waits for them.
        """
        if result.error is not None or result.from_cache or self.get_store() is None:
            return
        if self._writer is None:
            self._writer = concurrent.futures.ThreadPoolExecutor(1, "ssm-tui-cache")
        self._writes.append(self._writer.submit(self._write, result))
        self._writes = [w for w in self._writes if not w.done()]

    def _write(self, result: ScopeResult) -> None:
        widths = self.cache_widths
        try:
            self.get_store().save_inventory(
                result, widths(result.instances) if widths is not None else None
            )
        except Exception:  # noqa: BLE001
            log.exception("could not cache inventory")

    def flush(self) -> None:
        """Wait until every `save` so far is in the cache."""
        writes, self._writes = self._writes, []
        concurrent.futures.wait(writes)

    # -- SSO login (issue 15) ----------------------------------------------------------------
    def sso_login_target(self, profile: str) -> Any:
        """The sso-session `profile` logs in through (`aws.sso_login.LoginTarget`); raises
        `SsmTuiError` (`NotSsoProfile`, `UnknownProfileError`, `ConfigError`)."""
        from ssm_tui.aws.sso_login import login_target

        return login_target(profile)

    async def sso_login(
        self, profile: str, on_code: Callable[[Any], object], also: Sequence[str] = ()
    ) -> Any:
        """The device login of `profile` on the AWS loop (`aws.sso_login.sso_login`); `on_code`
        is called from the AWS thread. Afterwards the cached sessions of every profile of that
        login are dropped, so the next listing uses the new token. Cancelling the caller
        cancels the login; the token cache is then untouched. Every failure comes back as an
        `SsmTuiError` worded by `aws.errors.explain` (its `code` kept), so a screen needs no
        AWS module to show it. `also`: more profiles (discovered ones too) to count in the
        result's `target.profiles` when they log in through the same sso-session."""
        from ssm_tui.aws.errors import SsmTuiError, explain
        from ssm_tui.aws.sso_login import forget_sessions, same_login, sso_login

        async def login() -> Any:
            try:
                result = await sso_login(profile, on_code)
            except SsmTuiError:
                raise
            except Exception as exc:  # noqa: BLE001 - botocore's, a network failure...
                problem = explain(exc, profile)
                error = SsmTuiError(problem.message, problem.hint)
                error.code = problem.code
                raise error from exc
            result = same_login(result, also)
            forget_sessions(result.target.profiles)
            return result

        return await self.aws.run(login())

    # -- history and transcripts (the side panels' and the viewer's loaders) ----------------
    async def history(
        self, scopes: Sequence[Scope], target: str | None, store: Any = None
    ) -> HistoryResult:
        """`aws.history.fetch_history` on the AWS loop: a `HistoryResult` (errors as rows)."""
        from ssm_tui.aws.history import fetch_history

        return await self.aws.run(fetch_history(scopes, target=target, store=store, run_as=True))

    async def transcript_listings(
        self, scopes: Sequence[Scope], everyone: bool, limit: int
    ) -> list[TranscriptListing]:
        """One `TranscriptListing` per scope, on the AWS loop; a scope that fails becomes a
        listing holding its problem, so one failing profile never hides the others."""
        from ssm_tui.aws.logs import list_transcripts, problem_for
        from ssm_tui.aws.models.logs import TranscriptListing

        async def gather() -> list[TranscriptListing]:
            results = await asyncio.gather(
                *(
                    list_transcripts(s.profile, s.region, everyone=everyone, limit=limit)
                    for s in scopes
                ),
                return_exceptions=True,
            )
            return [
                result
                if isinstance(result, TranscriptListing)
                else TranscriptListing(
                    scope.profile,
                    scope.region,
                    problems=(problem_for(result, scope.profile, scope.region, "", "identity"),),
                    everyone=everyone,
                )
                for scope, result in zip(scopes, results, strict=True)
            ]

        return await self.aws.run(gather())

    def transcript_source(self) -> TranscriptSource:
        """How the viewer finds and reads transcripts: both on the AWS loop."""
        return TranscriptSource(self._find_transcripts, self._open_transcript)

    async def _find_transcripts(
        self, profile: str, region: str, session_id: str
    ) -> tuple[list[TranscriptRef], list[LogsProblem]]:
        from ssm_tui.aws.logs import find_transcripts

        return await self.aws.run(find_transcripts(profile, region, session_id))

    @asynccontextmanager
    async def _open_transcript(self, ref: TranscriptRef) -> AsyncIterator[PageReader]:
        """`aws.logs.open_transcript` entered, read and left on the AWS loop (its client and
        every page request live there); the caller awaits each page from its own loop."""
        from ssm_tui.aws.logs import open_transcript

        opened = open_transcript(ref)
        reader = await self.aws.run(opened.__aenter__())
        try:
            yield PageReader(self.aws, reader)
        except asyncio.CancelledError:
            await self.aws.run(opened.__aexit__(None, None, None))
            raise
        except BaseException as exc:
            # the reader turns AWS errors of a page into a `LogsError` there: hand it the error
            if not await self.aws.run(opened.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            await self.aws.run(opened.__aexit__(None, None, None))

    # -- Run Command and audit (the run and audit screens' calls) ----------------------------
    def command_run(self) -> CommandRun:
        """A Run Command to start (and cancel) from the app, on the AWS loop."""
        return CommandRun(self.aws)

    def audit_query(self, text: str, since: str) -> Query:
        """The audit search for `text` (`re:` begins a regex) over the last `since` (`7d`, an
        ISO date). Raises `re.error` for a regex that does not compile, before any AWS call."""
        from ssm_tui.aws.audit import Query, parse_age

        regex = text.startswith("re:")
        query = Query(pattern=text[3:] if regex else text, regex=regex, since=parse_age(since))
        query.compiled()
        return query

    async def audit_search(self, scopes: Sequence[Scope], query: Query) -> AuditResult:
        """Every transcript of `scopes` searched (`aws.audit.search`) on the AWS loop."""
        from ssm_tui.aws.audit import search

        return await self.aws.run(search(list(scopes), query))

    def audit_watcher(self, scopes: Sequence[Scope], retry_first: float | None = None) -> Watcher:
        """The live session feed over `scopes`; poll it with `aws.run(watcher.poll())`. A scope
        that fails is retried after `retry_first` seconds, then with a doubling backoff."""
        from ssm_tui.aws.audit import Watcher

        return Watcher(list(scopes), retry_first=retry_first)

    # -- sessions --------------------------------------------------------------------------
    def submit_start(
        self, profile: str, region: str, target: str, choice: DocumentChoice
    ) -> concurrent.futures.Future[StartedSession]:
        """StartSession on the AWS thread, as a future nobody's cancellation can abandon; a
        failure is a `StartFailed` explained for `profile`.

        Once the request left, the session may exist whatever happens to the caller: the
        session manager keeps this future and ends what it opened (`SessionManager.start`).
        """
        from ssm_tui.aws.sessions import start_session

        return self.aws.submit(
            _explained(
                start_session(
                    profile,
                    region,
                    target,
                    document_name=choice.document_name,
                    parameters=choice.parameters or None,
                    reason=choice.reason,
                ),
                profile,
                region,
            )
        )

    async def terminate_session(self, started: StartedSession) -> None:
        await asyncio.wrap_future(self.submit_terminate(started))

    def submit_terminate(self, started: StartedSession) -> concurrent.futures.Future[None]:
        """TerminateSession on the AWS thread; callable from any thread (the exit watchdog)."""
        from ssm_tui.aws.sessions import terminate_session

        return self.aws.submit(
            terminate_session(started.profile, started.region, started.session_id)
        )

    # -- RDP password (issue 16, `aws/rdp_password.py`) -------------------------------------
    def rdp_key_path(self, instance: Instance) -> str | None:
        """The private key file the settings name for this instance's password (None: none)."""
        from ssm_tui.aws.rdp_password import key_path_for

        found = key_path_for(
            self.get_settings(), instance.instance_id, instance.name, instance.profile
        )
        return str(found) if found is not None else None

    async def rdp_password(self, instance: Instance, key_file: str) -> str:
        """GetPasswordData, decrypted with `key_file`; `RdpPasswordError` says what went wrong."""
        from pathlib import Path

        from ssm_tui.aws.rdp_password import administrator_password

        return await self.aws.run(
            administrator_password(
                instance.profile, instance.region, instance.instance_id, Path(key_file)
            )
        )

    def plugin_program(self) -> list[str]:
        """The plugin program the `plugin` setting picks: auto (official if installed, else
        ours), official, builtin. Asked before StartSession, so that a plugin that cannot run
        starts no session: raises `StartFailed`, explained."""
        from ssm_tui.plugin.launcher import BUILTIN, OFFICIAL_NAME, resolve_plugin

        setting = getattr(self.get_settings(), "plugin", "auto")
        choice = {"auto": None, "builtin": BUILTIN, "official": OFFICIAL_NAME}.get(setting)
        try:
            return resolve_plugin(choice)
        except Exception as exc:
            from ssm_tui.aws.errors import explain

            raise StartFailed(explain(exc, None)) from exc

    def plugin_command(self, started: StartedSession, program: list[str]) -> PluginLaunch:
        """How to run the session's plugin, `program` (`plugin_program`), on `started`; a
        `StartFailed`, explained, when its pipes cannot be made (too many open files)."""
        from ssm_tui.plugin.launcher import plugin_command

        try:
            return plugin_command(started, program=program, status=True)  # ours: pane's label
        except Exception as exc:
            from ssm_tui.aws.errors import explain

            raise StartFailed(explain(exc, started.profile, started.region)) from exc

    def record_start(self, started: StartedSession, account_id: str, plugin: str) -> None:
        store = self.get_store()
        if store is not None:
            try:
                store.record_session_start(started, account_id=account_id, plugin=plugin)
            except Exception:  # noqa: BLE001
                log.exception("could not record session start")
            else:  # issue 17: the Run As user, read on the AWS loop beside the start
                from ssm_tui.aws.run_as import record_run_as

                self.aws.submit(record_run_as(store, started))

    def record_end(self, session_id: str, exit_status: int | None) -> None:
        """Mark the session ended. `exit_status` is the plugin's, not the remote one: the agent
        sends no status for a shell (only `separateOutputStream` documents report one), so the
        record says "unknown" rather than a 0 (plugin done) or 143 (tab closed) nobody ran."""
        del exit_status
        store = self.get_store()
        if store is not None:
            try:
                store.record_session_end(session_id, exit_status=None)
            except Exception:  # noqa: BLE001
                log.exception("could not record session end")

    async def aclose(self) -> None:
        """Close the inventory's clients and stop the AWS thread; idempotent (restarts on use).

        Pending cache writes finish first.
        """
        writer, self._writer = self._writer, None
        if writer is not None:
            await asyncio.to_thread(writer.shutdown)
        inventory, self._inventory = self._inventory, None
        closer = getattr(inventory, "aclose", None)
        if closer is not None:
            result = closer()
            if asyncio.iscoroutine(result):
                try:
                    await self.aws.run(result)
                except Exception:  # noqa: BLE001
                    log.exception("closing the inventory failed")
        self.aws.stop()
