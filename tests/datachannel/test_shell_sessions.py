"""Shell sessions through `datachannel.serve`: a real websocket, a real shell in a real pty."""

from __future__ import annotations

import threading

from ssm_tui.plugin.messages import PayloadType
from tests.datachannel.harness import ProtocolClient, ServerHarness


async def test_shell_prompt_names_the_instance_and_input_echoes(server: ServerHarness) -> None:
    session = server.new_session(computer_name="ip-10-1-2-3.ec2.internal")
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"ssm-user@ip-10-1-2-3:")
        assert client.handshake is None  # shell sessions skip the handshake
        first = client.frames_seen[0]
        assert first.sequence_number == 0 and first.flags == 1  # SYN on the agent's seq 0
        await client.type("echo hello-$((6*7)); pwd\r")
        end = await client.wait_for_output(b"hello-42")
        await client.wait_for_output(session.instance.home.encode(), start=end)
        assert b"echo hello-$((6*7))" in client.output  # the pty echoed what we typed
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_resize_reaches_the_pty(server: ServerHarness) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"$ ")
        await client.resize(cols=132, rows=43)
        await client.type("stty size\r")
        await client.wait_for_output(b"43 132")
        await client.resize(cols=90, rows=20)
        mark = len(client.output)
        await client.type("stty size\r")
        await client.wait_for_output(b"20 90", start=mark)
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_ctrl_c_interrupts_and_exit_closes_the_channel(server: ServerHarness) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.wait_for_output(b"$ ")
    # The foreground job itself prints the marker, so the ^C cannot race the job's start.
    await client.type("sh -c 'echo started-$((1+1)); exec sleep 30'; echo not-interrupted\r")
    await client.wait_for_output(b"started-2\r\n")
    await client.type(b"\x03")
    mark = len(client.output)
    await client.type("echo after-$((1+1))\r")
    await client.wait_for_output(b"after-2", start=mark)
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)
    assert b"\nnot-interrupted\r\n" not in client.output
    assert not session.active and session.status == "Terminated"


async def test_ctrl_d_ends_the_shell(server: ServerHarness) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.wait_for_output(b"$ ")
    await client.type(b"\x04")
    await client.pump(lambda: client.closed is not None)
    assert not session.active


async def test_two_instances_look_different(server: ServerHarness) -> None:
    first = server.new_session(computer_name="alpha-host")
    second = server.new_session(computer_name="beta-host")
    a = await ProtocolClient.open(server.stream_url(first), first.token)
    b = await ProtocolClient.open(server.stream_url(second), second.token)
    try:
        await a.wait_for_output(b"ssm-user@alpha-host:")
        await b.wait_for_output(b"ssm-user@beta-host:")
        await a.type("touch only-here; ls\r")
        await a.wait_for_output(b"only-here\r\n")
        mark = len(b.output)
        await b.type("ls -a; echo listed\r")
        await b.wait_for_output(b"listed\r\n", start=mark)
        assert b"only-here" not in b.output[mark:]
    finally:
        await a.close()
        await b.close()
        server.registry.terminate(first.session_id)
        server.registry.terminate(second.session_id)


async def test_terminate_session_from_another_thread_closes_the_channel(
    server: ServerHarness,
) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.wait_for_output(b"$ ")
    # TerminateSession runs in moto's thread pool: the listener must hop onto the loop.
    thread = threading.Thread(target=server.registry.terminate, args=(session.session_id,))
    thread.start()
    thread.join()
    await client.pump(lambda: client.closed is not None)
    assert session.status == "Terminated"


async def test_interactive_command_runs_in_the_pty(server: ServerHarness) -> None:
    session = server.new_session(
        "AWS-StartInteractiveCommand", {"command": ["tty; echo term=$TERM"]}
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert client.handshake is None
    assert b"/dev/pts/" in client.output
    assert b"term=xterm-256color" in client.output
    assert client.exit_code is None  # only NonInteractiveCommands report it


async def test_non_interactive_command_reports_its_exit_code(server: ServerHarness) -> None:
    session = server.new_session(
        "AWS-StartNonInteractiveCommand", {"command": ["echo out; echo err >&2; exit 3"]}
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert client.handshake is not None
    assert client.handshake.session_type == "NonInteractiveCommands"
    parts = client.handshake.agent_version.split(".")
    assert len(parts) == 4 and all(p.isdigit() for p in parts)
    assert client.handshake_complete
    assert b"out" in client.output and b"err" in client.output
    assert client.exit_code == 3
    kinds = [kind for kind, _ in client.payloads]
    assert kinds.index(PayloadType.EXIT_CODE) > kinds.index(PayloadType.OUTPUT)
    assert (PayloadType.EXIT_CODE, b"EXIT_CODE: 3") in client.payloads


async def test_shell_gets_default_signal_dispositions(server: ServerHarness) -> None:
    # Python ignores SIGPIPE; a shell inheriting that would see `yes` spin on EPIPE, not die.
    session = server.new_session(
        "AWS-StartInteractiveCommand",
        {"command": ['yes | head -1; echo "status=${PIPESTATUS[0]}"']},
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert b"status=141" in client.output  # 128 + SIGPIPE


async def test_non_interactive_command_with_separate_streams(server: ServerHarness) -> None:
    session = server.new_session(
        "AWS-StartNonInteractiveCommand",
        {
            "command": ["echo to-stdout; echo to-stderr >&2; head -c 3 | tr a-z A-Z; exit 5"],
            "separateOutputStream": ["true"],
        },
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.handshake_complete)
    await client.type("abc")  # stdin is a pipe: no echo, no \r\n translation
    await client.pump(lambda: client.closed is not None)
    stdout = b"".join(p for kind, p in client.payloads if kind == PayloadType.OUTPUT)
    stderr = b"".join(p for kind, p in client.payloads if kind == PayloadType.STDERR)
    assert stdout == b"to-stdout\nABC"
    assert stderr == b"to-stderr\n"
    assert client.exit_code == 5
