"""Deadlines on what botocore would wait for forever: `credential_process` and unreachable hosts.

botocore's `ProcessProvider` runs a profile's `credential_process` and waits for it with no
timeout: a helper that waits for a prompt nobody sees (an MFA or browser step), or simply hangs,
hung `ssm-tui list` and the app's refresh for ever, and quitting left its children running.
`timed_process_provider` gives botocore's own provider our `popen` (its public constructor
argument) and takes its place in the session's credential resolver (through the resolver's public
`insert_after`/`remove`): the same contract (JSON `Version: 1` on stdout), run in its own process
group with stdin closed, ended with its whole group after `process_timeout()` seconds or when the
caller is cancelled, and every way it can fail (program missing, not executable, non-zero exit,
no JSON, missing keys) becomes a `CredentialRetrievalError` whose message says which, so
`errors.explain` can give the next step. A role profile's `source_profile` is resolved through
an assume-role provider of ours, built with botocore's public constructor arguments, whose
`profile_provider_builder` hands out the same timed provider (issue 14: no private API).

Connection failures: botocore's standard retry mode retries a connection error like a throttle
(8 attempts with backoff up to 20 s), so a region that does not exist (its endpoint's DNS name
does not resolve) took ~58 s to report. A host that cannot be reached now gets
`CONNECT_ATTEMPTS` attempts (a `needs-retry` handler registered on the session re-raises the
error after them); throttling keeps botocore's full budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from typing import Any

from aiobotocore.credentials import (
    AioAssumeRoleProvider,
    AioCanonicalNameCredentialSourcer,
    AioConfigProvider,
    AioContainerProvider,
    AioEnvProvider,
    AioProcessProvider,
    AioProfileProviderBuilder,
    AioSharedCredentialProvider,
)
from botocore import exceptions as bce

from ssm_tui.aws.profiles import lenient_load_config, lenient_raw_parse, read_config
from ssm_tui.text import printable

PROCESS_TIMEOUT = 30.0
"""Seconds a `credential_process` may take (SSM_TUI_CREDENTIAL_PROCESS_TIMEOUT overrides): long
enough for a helper that fetches from a vault over a slow link, short enough for a person
watching a refresh."""
CONNECT_ATTEMPTS = 2
"""Attempts for a call whose endpoint cannot be reached (DNS failure, refused, connect timeout):
with botocore's 5 s connect timeout that is at most ~11 s, ~1 s when the name does not resolve."""
_CONNECT_ERRORS = (bce.EndpointConnectionError, bce.ConnectTimeoutError)
_PROVIDER = "credential_process"


def process_timeout() -> float:
    """`PROCESS_TIMEOUT`, or the SSM_TUI_CREDENTIAL_PROCESS_TIMEOUT variable when it is valid."""
    try:
        value = float(os.environ.get("SSM_TUI_CREDENTIAL_PROCESS_TIMEOUT", ""))
    except ValueError:
        return PROCESS_TIMEOUT
    return value if value > 0 else PROCESS_TIMEOUT


def _fail(message: str) -> bce.CredentialRetrievalError:
    return bce.CredentialRetrievalError(provider=_PROVIDER, error_msg=message)


def _excerpt(data: bytes, limit: int = 120) -> str:
    text = data.decode("utf-8", "replace").strip()
    text = text if len(text) <= limit else text[:limit] + "…"
    return printable(text)


def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the helper's process group (it leads its own session): children too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class _TimedProcess:
    """What botocore's `ProcessProvider` awaits from its `popen`: `communicate()` and then
    `returncode`. Here `communicate()` has a deadline, and checks the output so that each way
    it can fail raises a `CredentialRetrievalError` saying which (botocore then parses output
    known to be good)."""

    def __init__(self, process: asyncio.subprocess.Process, program: str) -> None:
        self._process = process
        self._program = program

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def communicate(self) -> tuple[bytes, bytes]:
        process, program, timeout = self._process, self._program, process_timeout()
        try:
            async with asyncio.timeout(timeout):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            raise _fail(
                f"credential_process did not finish within {timeout:g} s and was stopped: {program}"
            ) from None
        finally:
            if process.returncode is None:  # timed out or cancelled (the app quit)
                _kill_group(process)
                await process.wait()
        if process.returncode != 0:
            said = _excerpt(stderr) or "(nothing on stderr)"
            raise _fail(f"credential_process exited with status {process.returncode}: {said}")
        try:
            parsed = json.loads(stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            got = _excerpt(stdout) or "nothing"
            raise _fail(f"credential_process printed no JSON credentials (got: {got!r})") from None
        if not isinstance(parsed, dict):
            raise _fail("credential_process printed JSON that is not an object")
        if parsed.get("Version") != 1:
            raise _fail(f"credential_process answered Version {parsed.get('Version')!r}, not 1")
        for key in ("AccessKeyId", "SecretAccessKey"):
            if key not in parsed:
                raise _fail(f"credential_process output lacks {key}")
        return stdout, stderr


async def _timed_popen(*argv: str, **_: Any) -> _TimedProcess:
    """botocore's `popen` for credential_process: stdin closed, its own process group."""
    if not argv:
        raise _fail("credential_process is empty")
    program = printable(argv[0])
    spawn = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,  # nobody can answer a prompt: fail instead of waiting
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: a timeout or quit ends its children too
        )
    )
    try:
        # shielded: cancelled mid-spawn (a sibling call failed), asyncio would kill the
        # helper's pid only, and a child it had already started lived on
        process = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            started = await spawn
            _kill_group(started)
            await started.wait()
        raise
    except FileNotFoundError:
        raise _fail(f"credential_process program not found: {program}") from None
    except PermissionError:
        raise _fail(f"credential_process program is not executable: {program}") from None
    except OSError as exc:
        raise _fail(f"credential_process could not start {program}: {exc}") from None
    return _TimedProcess(process, program)


def timed_process_provider(profile_name: str, session: Any) -> AioProcessProvider:
    """botocore's credential_process provider for `profile_name`, with our deadline."""
    return AioProcessProvider(
        profile_name=profile_name, load_config=lambda: session.full_config, popen=_timed_popen
    )


def _bounded_connect_retries(
    attempts: int, caught_exception: BaseException | None = None, **_: Any
) -> None:
    """A `needs-retry` handler: stop retrying an unreachable endpoint after CONNECT_ATTEMPTS.

    botocore calls every `needs-retry` handler; raising here ends the call with the connection
    error itself (what `errors.explain` words as "cannot reach AWS")."""
    if isinstance(caught_exception, _CONNECT_ERRORS) and attempts >= CONNECT_ATTEMPTS:
        raise caught_exception


def _shared_file_provider(filename: str, profile_name: str) -> AioSharedCredentialProvider:
    return AioSharedCredentialProvider(
        creds_filename=filename, profile_name=profile_name, ini_parser=lenient_raw_parse
    )


def _config_file_provider(filename: str, profile_name: str) -> AioConfigProvider:
    return AioConfigProvider(
        config_filename=filename, profile_name=profile_name, config_parser=lenient_load_config
    )


class TimedProfileProviderBuilder(AioProfileProviderBuilder):
    """The providers a role profile's `source_profile` is resolved with: its credential_process
    under the same deadline (a hung helper behind an assume-role profile hung the listing), and
    the key files read as leniently as `profiles.read_config` reads them. Only the builder's
    public `providers()` is overridden: botocore's list, with those three swapped for ours."""

    def __init__(self, session: Any, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.ssm_tui_session = session

    def providers(self, profile_name: str, disable_env_vars: bool = False) -> list[Any]:
        session = self.ssm_tui_session
        files = session.get_config_variable
        ours = []
        for provider in super().providers(profile_name, disable_env_vars=disable_env_vars):
            if isinstance(provider, AioProcessProvider):
                provider = timed_process_provider(profile_name, session)
            elif isinstance(provider, AioSharedCredentialProvider):
                provider = _shared_file_provider(files("credentials_file"), profile_name)
            elif isinstance(provider, AioConfigProvider):
                provider = _config_file_provider(files("config_file"), profile_name)
            ours.append(provider)
        return ours


def _swap(resolver: Any, name: str, provider: Any) -> None:
    """Put `provider` where botocore's provider `name` is (ours may carry the same name)."""
    resolver.insert_after(name, provider)
    resolver.remove(name)  # the first of that name: botocore's


def _sts_creator(session: Any) -> Any:
    """How botocore's assume-role provider makes its STS client (as botocore's own does)."""

    def create(service_name: str, **kwargs: Any) -> Any:
        return session.create_client(service_name, **{"region_name": None, **kwargs})

    return create


def _assume_role_provider(session: Any, profile: str, resolver: Any) -> AioAssumeRoleProvider:
    """botocore's assume-role provider for `profile`, built as `create_credential_resolver`
    builds it, with `TimedProfileProviderBuilder` resolving its source profile."""
    cache: dict = {}

    def chain_provider(method: str, default: Any) -> Any:
        try:
            return resolver.get_provider(method)
        except bce.UnknownCredentialError:  # the env provider is left out for a named profile
            return default()

    sourcer = AioCanonicalNameCredentialSourcer(
        [
            chain_provider("env", AioEnvProvider),
            chain_provider("container-role", AioContainerProvider),
            resolver.get_provider("iam-role"),
        ]
    )
    return AioAssumeRoleProvider(
        load_config=lambda: session.full_config,
        client_creator=_sts_creator(session),
        cache=cache,
        profile_name=profile,
        credential_sourcer=sourcer,
        profile_provider_builder=TimedProfileProviderBuilder(session, cache=cache),
    )


def install(session: Any) -> None:
    """Put the deadlines above into a prepared botocore session (its profile already chosen).

    The resolver is built only when something in it must change; otherwise it is left to be
    built lazily, as botocore does."""
    session.register(
        "needs-retry", _bounded_connect_retries, unique_id="ssm-tui-bounded-connect-retries"
    )
    profile = session.get_config_variable("profile") or "default"
    config = session.full_config.get("profiles", {}).get(profile, {})
    lenient = bool(read_config().problems)  # a file botocore's own providers would reject
    role = bool(config.get("role_arn") and config.get("source_profile"))
    if "credential_process" not in config and not role and not lenient:
        return
    resolver = session.get_component("credential_provider")
    if "credential_process" in config:
        _swap(resolver, "custom-process", timed_process_provider(profile, session))
    if lenient:
        files = session.get_config_variable
        _swap(
            resolver,
            "shared-credentials-file",
            _shared_file_provider(files("credentials_file"), profile),
        )
        _swap(resolver, "config-file", _config_file_provider(files("config_file"), profile))
    if role:
        _swap(resolver, "assume-role", _assume_role_provider(session, profile, resolver))
