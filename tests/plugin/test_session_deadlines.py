"""Session Manager calls with deadlines that fit a person waiting (issue 13: a gone endpoint kept
TerminateSession busy for 56 s, ResumeSession for minutes, a made-up region for 58 s)."""

from __future__ import annotations

import asyncio

import pytest

from ssm_tui.aws.errors import SsmTuiError
from ssm_tui.aws.sessions import resume_session, start_session, terminate_session
from ssm_tui.plugin.reconnect import is_connection_refused


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


class HangUp:
    """A real TCP endpoint that accepts and hangs up at once: botocore retries each call."""

    def __init__(self) -> None:
        self.connections = 0

    async def __aenter__(self) -> HangUp:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.transport.abort()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()


async def test_terminate_session_makes_few_attempts(keys: None) -> None:
    async with HangUp() as endpoint:
        with pytest.raises(SsmTuiError):
            await terminate_session(None, "us-east-1", "s-1", endpoint.url)
    # 3 attempts (aiohttp itself redials a hung-up connection once): 9 with the shared config
    assert 1 <= endpoint.connections <= 4


async def test_resume_session_makes_few_attempts(keys: None) -> None:
    async with HangUp() as endpoint:
        with pytest.raises(SsmTuiError):
            await resume_session(None, "us-east-1", "s-1", endpoint.url)
    assert 1 <= endpoint.connections <= 4


async def test_a_refused_resume_is_recognisable_by_the_reconnect_loop(keys: None) -> None:
    with pytest.raises(SsmTuiError) as failure:
        await resume_session(None, "us-east-1", "s-1", "http://127.0.0.1:9")
    assert is_connection_refused(failure.value)


async def test_a_region_that_does_not_exist_fails_at_once_with_a_hint(keys: None) -> None:
    with pytest.raises(SsmTuiError, match="'nowhere-9': the SSM endpoint ssm.nowhere-9"):
        await start_session(None, "nowhere-9", "i-0123456789abcdef0")
