"""The app's one seam to the layers below: profiles, inventory, cache, sessions, plugin, settings.

Screens call these methods from workers; nothing here touches a widget. The real modules are
imported lazily so the app (and `ssm-tui --help`) starts without building AWS clients, and so a
test or benchmark can pass a `Services` built on a prepared store. All AWS calls are async
(aiobotocore) or run in a thread: the event loop never blocks on the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ssm_tui.aws.models import Profile, Scope, ScopeResult, StartedSession

log = logging.getLogger(__name__)


@dataclass
class DocumentChoice:
    """What kind of session to start: a shell, port forwarding, or an interactive command."""

    document_name: str | None = None
    """None = the default shell document (SSM-SessionManagerRunShell)."""
    parameters: dict[str, list[str]] = field(default_factory=dict)
    label: str = "shell"
    local_port: int | None = None


@dataclass
class Services:
    """Lazy handles on the services; one instance per app run."""

    settings: Any = None
    """`ssm_tui.aws.settings.Settings` (loaded on first use when None)."""
    store: Any = None
    """`ssm_tui.store.Store` (opened on first use when None; False disables the cache)."""
    _inventory: Any = None

    # -- settings & profiles ---------------------------------------------------------------
    def get_settings(self) -> Any:
        if self.settings is None:
            from ssm_tui.aws.settings import Settings, load_settings

            try:
                self.settings = load_settings()
            except Exception:  # noqa: BLE001 - a broken settings file must not stop the app
                log.exception("settings file unreadable; using defaults")
                self.settings = Settings()
        return self.settings

    def load_profiles(self, include_discovered: bool = False) -> list[Profile]:
        """Profiles of the AWS config; raises `ConfigError` when the file is malformed."""
        from ssm_tui.aws.profiles import load_profiles

        settings = self.get_settings()
        profiles = load_profiles(include_discovered=include_discovered)
        return [p for p in profiles if not settings.is_hidden(p.name)]

    async def accounts(self, profiles: Sequence[Profile]) -> tuple[list[Any], list[Any]]:
        """SSO discovery, then profiles grouped by account: ([Account], [ScopeError])."""
        from ssm_tui.aws.accounts import discover_sso, group_accounts

        found, errors = await discover_sso(list(profiles))
        accounts, more = await group_accounts([*profiles, *found])
        return accounts, [*errors, *more]

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

    async def stream(self, scopes: Sequence[Scope]) -> AsyncIterator[ScopeResult]:
        """One ScopeResult per scope as each completes (errors are results, not exceptions)."""
        async for result in self.inventory().stream(list(scopes)):
            yield result

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
        """The last inventory of every scope from the cache (instant first frame)."""
        store = self.get_store()
        if store is None:
            return []
        try:
            return list(store.load_inventory())
        except Exception:  # noqa: BLE001
            log.exception("inventory cache unreadable")
            return []

    def save(self, result: ScopeResult) -> None:
        store = self.get_store()
        if store is not None and result.error is None:
            try:
                store.save_inventory(result)
            except Exception:  # noqa: BLE001
                log.exception("could not cache inventory")

    # -- sessions --------------------------------------------------------------------------
    async def start_session(
        self, profile: str, region: str, target: str, choice: DocumentChoice
    ) -> StartedSession:
        from ssm_tui.aws.sessions import start_session

        return await start_session(
            profile,
            region,
            target,
            document_name=choice.document_name,
            parameters=choice.parameters or None,
        )

    async def terminate_session(self, started: StartedSession) -> None:
        from ssm_tui.aws.sessions import terminate_session

        await terminate_session(started.profile, started.region, started.session_id)

    def plugin_command(self, started: StartedSession) -> tuple[list[str], dict[str, str], str]:
        """(argv, env additions, plugin label) for the process that runs the session."""
        from ssm_tui.plugin.launcher import plugin_command

        setting = self.get_settings().plugin
        argv, env = plugin_command(started, plugin=None if setting == "auto" else setting)
        label = "official" if "session-manager-plugin" in argv[0] else "builtin"
        return list(argv), dict(env), label

    def record_start(self, started: StartedSession, account_id: str, plugin: str) -> None:
        store = self.get_store()
        if store is not None:
            try:
                store.record_session_start(started, account_id=account_id, plugin=plugin)
            except Exception:  # noqa: BLE001
                log.exception("could not record session start")

    def record_end(self, session_id: str, exit_status: int | None) -> None:
        store = self.get_store()
        if store is not None:
            try:
                store.record_session_end(session_id, exit_status=exit_status)
            except Exception:  # noqa: BLE001
                log.exception("could not record session end")

    async def aclose(self) -> None:
        """Close the inventory's clients; idempotent."""
        inventory, self._inventory = self._inventory, None
        closer = getattr(inventory, "aclose", None)
        if closer is not None:
            result = closer()
            if asyncio.iscoroutine(result):
                await result
