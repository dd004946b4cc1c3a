"""Deadlines on what botocore would wait for forever: `credential_process` and unreachable hosts.

botocore's `ProcessProvider` runs a profile's `credential_process` and waits for it with no
timeout: a helper that waits for a prompt nobody sees (an MFA or browser step), or simply hangs,
hung `ssm-tui list` and the app's refresh for ever, and quitting left its children running.
`TimedProcessProvider` takes its place in the session's credential resolver (through the
resolver's public `insert_before`/`remove`): the same contract (JSON `Version: 1` on stdout), run
in its own process group with stdin closed, ended with its whole group after
`process_timeout()` seconds or when the caller is cancelled, and every way it can fail (program
missing, not executable, non-zero exit, no JSON, missing keys) becomes a `CredentialRetrievalError`
whose message says which, so `errors.explain` can give the next step.

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
    AioConfigProvider,
    AioProcessProvider,
    AioProfileProviderBuilder,
    AioSharedCredentialProvider,
)
from botocore import exceptions as bce
from botocore.compat import compat_shell_split

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


class TimedProcessProvider(AioProcessProvider):
    """botocore's credential_process provider with a deadline and readable failures."""

    METHOD = "ssm-tui-process"

    async def _retrieve_credentials_using(self, credential_process: str) -> dict[str, Any]:
        argv = compat_shell_split(credential_process)
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
        timeout = process_timeout()
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
        try:
            return {
                "access_key": parsed["AccessKeyId"],
                "secret_key": parsed["SecretAccessKey"],
                "token": parsed.get("SessionToken"),
                "expiry_time": parsed.get("Expiration"),
                "account_id": self._get_account_id(parsed),
            }
        except KeyError as exc:
            raise _fail(f"credential_process output lacks {exc.args[0]}") from None


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
    the key files read as leniently as `profiles.read_config` reads them."""

    def _create_process_provider(self, profile_name: str) -> TimedProcessProvider:
        return TimedProcessProvider(
            profile_name=profile_name, load_config=lambda: self._session.full_config
        )

    def _create_shared_credential_provider(self, profile_name: str) -> Any:
        filename = self._session.get_config_variable("credentials_file")
        return _shared_file_provider(filename, profile_name)

    def _create_config_provider(self, profile_name: str) -> Any:
        filename = self._session.get_config_variable("config_file")
        return _config_file_provider(filename, profile_name)


def _swap(resolver: Any, name: str, provider: Any) -> None:
    resolver.insert_before(name, provider)
    resolver.remove(name)


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
        timed = TimedProcessProvider(profile_name=profile, load_config=lambda: session.full_config)
        _swap(resolver, "custom-process", timed)
    if lenient:
        files = session.get_config_variable
        _swap(
            resolver,
            "shared-credentials-file",
            _shared_file_provider(files("credentials_file"), profile),
        )
        _swap(resolver, "config-file", _config_file_provider(files("config_file"), profile))
    assume = resolver.get_provider("assume-role")
    builder = getattr(assume, "_profile_provider_builder", None)
    if role and isinstance(builder, AioProfileProviderBuilder):
        # botocore builds the source profile's providers with this builder, which it creates
        # inside `create_credential_resolver` (no public hook): the same builder, with ours.
        timed_builder = TimedProfileProviderBuilder.__new__(TimedProfileProviderBuilder)
        timed_builder.__dict__.update(builder.__dict__)
        assume._profile_provider_builder = timed_builder
