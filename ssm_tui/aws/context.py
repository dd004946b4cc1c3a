"""The AWS layer's memory in one object: sessions, identities, account ids and labels, endpoints.

What `clients` and `accounts` learn while the app runs (botocore sessions with their credentials,
the long-lived clients, GetCallerIdentity answers, account aliases, resolved endpoints, the parsed
AWS config) used to be module-level dicts, which every test had to clear by hand. They live in an
`AwsContext` now: the services object owns one (`Services.context`) and its AWS loop runs every
coroutine with it installed, so two services objects (two tests, a benchmark's cold and warm runs)
never share what they learnt, and `forget()` clears all of it at once.

The context is found through a `ContextVar`: asyncio copies it into every task, so the layer's
functions keep their signatures and a lookup costs a dict read. Code that sets none (a CLI's
`asyncio.run`) uses the process's default context.

Left module-level in `clients`, on purpose: botocore's read-only data (the data loader and the
handler template). It never goes stale, and sharing it between contexts makes a session cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


class AwsContext:
    """Everything the AWS layer remembers, for one services object (or the process)."""

    def __init__(self) -> None:
        self.sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = (
            weakref.WeakKeyDictionary()
        )
        """aiobotocore sessions by event loop, then (config fingerprint, profile)."""
        self.clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        """`clients.LoopClients` by event loop: the open, long-lived clients."""
        self.locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()
        self.identities: dict[tuple, dict[str, str]] = {}
        """GetCallerIdentity by (fingerprint, profile)."""
        self.endpoints: dict[tuple, str] = {}
        self.parsed_configs: dict[tuple, dict] = {}
        self.account_ids: dict[tuple, str] = {}
        self.arns: dict[tuple, str] = {}
        self.labels: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        """IAM account aliases by account id: the one label source that never depends on timing."""
        self.no_alias: set[tuple[str, str]] = set()
        """(account, profile) pairs whose ListAccountAliases answered none or was denied."""
        self.settings: Any = None
        """The app's `Settings` when its services object gave them (else read from disk)."""

    def forget_sessions(self) -> None:
        """Drop sessions, clients, identities, endpoints and the parsed config (after `aws sso
        login`). The clients are closed on their own loops (this may be called from another
        thread); a loop already closed closed its clients when it shut down."""
        for loop, state in list(self.clients.items()):
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # closed meanwhile
                    loop.call_soon_threadsafe(_close_soon, loop, state)
        self.clients.clear()
        self.sessions.clear()
        self.locks.clear()
        self.identities.clear()
        self.endpoints.clear()
        self.parsed_configs.clear()

    def forget_accounts(self) -> None:
        """Drop account ids, ARNs, labels and aliases."""
        self.account_ids.clear()
        self.arns.clear()
        self.labels.clear()
        self.names.clear()
        self.aliases.clear()
        self.no_alias.clear()

    def forget(self) -> None:
        """Drop everything learnt (the settings given stay)."""
        self.forget_sessions()
        self.forget_accounts()


def _close_soon(loop: asyncio.AbstractEventLoop, state: Any) -> None:
    """On `loop`: close a forgotten `LoopClients` in a task of its own (kept referenced until
    it is done: asyncio holds running tasks only weakly)."""
    task = loop.create_task(state.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task] = set()


_DEFAULT = AwsContext()
_CURRENT: ContextVar[AwsContext] = ContextVar("ssm_tui_aws_context", default=_DEFAULT)


def current() -> AwsContext:
    """The context of the running task (the default one when none was installed)."""
    return _CURRENT.get()


def default() -> AwsContext:
    """The process's context: what code that installs none uses (CLIs, scripts)."""
    return _DEFAULT


def install(context: AwsContext) -> None:
    """Make `context` current for the calling task (and the tasks it starts) from now on."""
    _CURRENT.set(context)


@contextmanager
def using(context: AwsContext) -> Iterator[AwsContext]:
    """`context` current inside the block (synchronous code: seeding aliases in tests)."""
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
