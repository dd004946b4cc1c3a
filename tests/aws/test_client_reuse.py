"""Long-lived clients (issue 14): one per profile, service, region and endpoint for the life of
the event loop, closed when the loop ends or after `forget_sessions()`; TLS contexts shared
through the one private aiobotocore hook left, which must still exist in the installed version."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ssm_tui.aws import clients
from ssm_tui.aws.context import AwsContext, using


async def test_one_client_per_profile_service_region_for_the_loop(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    async with clients.client("ssm", "sandbox", "us-east-1") as first:
        await first.describe_instance_information(MaxResults=5)
    async with clients.client("ssm", "sandbox", "us-east-1") as again:
        pass
    async with clients.client("ssm", "sandbox", "eu-west-1") as other_region:
        pass
    async with clients.client("ec2", "sandbox", "us-east-1") as other_service:
        pass
    assert again is first, "a second caller gets the open client"
    assert other_region is not first and other_service is not first
    # still usable after its `async with` ended: leaving the block does not close it
    reply = await again.describe_instance_information(MaxResults=5)
    assert reply["InstanceInformationList"]


async def test_forget_sessions_gives_new_clients_and_closes_the_old(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    async with clients.client("ssm", "sandbox", "us-east-1") as old:
        await old.describe_instance_information(MaxResults=5)
    clients.forget_sessions()
    await asyncio.sleep(0.05)  # the close runs in a task on this loop
    async with clients.client("ssm", "sandbox", "us-east-1") as new:
        await new.describe_instance_information(MaxResults=5)
    assert new is not old
    with pytest.raises(Exception):  # noqa: B017 - closed: aiobotocore has no session to send on
        await old.describe_instance_information(MaxResults=5)


async def test_two_contexts_never_share_a_client(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    async with clients.client("ssm", "sandbox", "us-east-1") as default:
        pass
    with using(AwsContext()):
        async with clients.client("ssm", "sandbox", "us-east-1") as own:
            pass
        await clients.aclose()
    assert own is not default


def test_a_cli_run_closes_its_clients_when_its_loop_ends(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    """`asyncio.run` (every CLI) shuts the loop's async generators down: the clients close, so
    aiohttp never reports an unclosed session on the user's terminal."""
    program = textwrap.dedent(
        """
        import asyncio, gc
        from ssm_tui.aws import clients

        async def main():
            for region in ("us-east-1", "eu-west-1"):
                async with clients.client("ssm", "sandbox", region) as ssm:
                    await ssm.describe_instance_information(MaxResults=5)

        asyncio.run(main())
        gc.collect()
        print("listed")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert "listed" in done.stdout
    assert "Unclosed" not in done.stderr, done.stderr


def test_the_apps_aws_loop_closes_its_clients_when_it_stops(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    """The app's AWS thread (`services.AwsLoop`) closes the clients when it stops, as a CLI's
    `asyncio.run` does. (The loop's handler sends aiohttp's "Unclosed client session" to the
    log: shown here on stderr.)"""
    program = textwrap.dedent(
        """
        import gc, logging
        logging.basicConfig(level=logging.DEBUG)
        from ssm_tui.aws import clients
        from ssm_tui.aws.context import AwsContext
        from ssm_tui.services import AwsLoop

        async def call():
            async with clients.client("ssm", "sandbox", "us-east-1") as ssm:
                await ssm.describe_instance_information(MaxResults=5)

        loop = AwsLoop(AwsContext())
        loop.submit(call()).result(60)
        loop.stop()
        gc.collect()
        print("listed")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert "listed" in done.stdout
    assert "Unclosed" not in done.stderr, done.stderr


def test_the_tls_hook_exists_in_the_installed_aiobotocore() -> None:
    """The canary for the one private hook (`SharedTLSHTTPSession`): if a release renames
    `AIOHTTPSession._build_ssl_contexts` (`_build_ssl_context` in 3.8), clients fall back to
    stock aiobotocore (one CA bundle load per client, ~25 ms of CPU) and this test says so."""
    assert clients.tls_sharing()
    assert clients.BASE_CONFIG.http_session_cls is clients.SharedTLSHTTPSession


async def test_clients_share_one_tls_context(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    built: list[object] = []
    name = clients.tls_builder()
    assert name is not None
    original = getattr(clients.AIOHTTPSession, name)

    def counting(self, proxy_url):  # type: ignore[no-untyped-def]
        built.append(proxy_url)
        return original(self, proxy_url)

    clients._tls_contexts.clear()
    setattr(clients.AIOHTTPSession, name, counting)
    try:
        for region in ("us-east-1", "eu-west-1"):
            for service in ("ssm", "ec2"):
                async with clients.client(service, "sandbox", region) as c:
                    if service == "ssm":
                        await c.describe_instance_information(MaxResults=5)
                    else:
                        await c.describe_instances(MaxResults=5)
    finally:
        setattr(clients.AIOHTTPSession, name, original)
    assert len(built) == 1, "four clients, one CA bundle load"
