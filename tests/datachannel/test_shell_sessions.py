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
    # InteractiveCommands on an instance: `sh -c <commands>` in a pty (shell_unix.go)
    session = server.new_session(
        "AWS-StartInteractiveCommand", {"command": ["tty && echo term=$TERM | tr a-z A-Z"]}
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert client.handshake is None
    assert b"/dev/pts/" in client.output
    assert b"TERM=XTERM-256COLOR\r\n" in client.output  # a shell line, through a pty (CR LF)
    assert client.exit_code is None  # only separateOutputStream documents report it


async def test_non_interactive_command_is_exec_not_a_shell(server: ServerHarness) -> None:
    # shlex.Split + exec.Command: `exit 3`, `;` and `>&2` are just words for echo
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
    assert bytes(client.output) == b"out; echo err >&2; exit 3\n"  # no pty: no CR
    assert client.exit_code is None  # the AWS document sets no separateOutputStream
    assert PayloadType.EXIT_CODE not in [kind for kind, _ in client.payloads]


async def test_non_interactive_sh_c_merges_its_streams_and_sends_no_status(
    server: ServerHarness,
) -> None:
    session = server.new_session(
        "AWS-StartNonInteractiveCommand",
        {"command": ["sh -c 'echo out; echo err >&2; echo \"$0\"; exit 3' quoted"]},
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    stdout = b"".join(p for kind, p in client.payloads if kind == PayloadType.OUTPUT)
    assert stdout == b"out\nerr\nquoted\n"  # one stream, as the agent's output file has it
    assert PayloadType.STDERR not in [kind for kind, _ in client.payloads]
    assert client.exit_code is None


async def test_non_interactive_unknown_program_is_an_exec_error(server: ServerHarness) -> None:
    session = server.new_session("AWS-StartNonInteractiveCommand", {"command": ["exit 3"]})
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    errors = b"".join(p for kind, p in client.payloads if kind == PayloadType.STDERR)
    assert errors == b'exec: "exit": executable file not found in $PATH'
    assert client.exit_code is None
    assert not session.active


def _separate_document(stdout_prefix: str = "", stderr_prefix: str = "") -> dict[str, object]:
    linux: dict[str, object] = {
        "commands": "{{ command }}",
        "separateOutputStream": "true",
        "stdOutSeparatorPrefix": stdout_prefix,
        "stdErrSeparatorPrefix": stderr_prefix,
    }
    return {
        "schemaVersion": "1.0",
        "sessionType": "NonInteractiveCommands",
        "parameters": {"command": {"type": "String"}},
        "properties": {"linux": linux},
    }


async def test_separate_output_stream_is_a_document_property_not_a_parameter(
    server: ServerHarness,
) -> None:
    session = server.new_session(
        "AWS-StartNonInteractiveCommand",
        {"command": ["sh -c 'exit 4'"], "separateOutputStream": ["true"]},
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert client.exit_code is None  # --parameters cannot turn it on


async def test_non_interactive_command_with_separate_streams(server: ServerHarness) -> None:
    session = server.new_session(
        "Acme-RunCommand",
        {"command": ["sh -c 'echo to-stdout; echo to-stderr >&2; head -c 3; exit 5'"]},
    )
    session.document_content = _separate_document("OUT:", "ERR:")
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.type("abc")  # typed during the handshake: acked and dropped
    await client.pump(lambda: client.handshake_complete)
    await client.type("abc")  # and afterwards: the command has no stdin at all
    await client.pump(lambda: client.closed is not None)
    stdout = b"".join(p for kind, p in client.payloads if kind == PayloadType.OUTPUT)
    stderr = b"".join(p for kind, p in client.payloads if kind == PayloadType.STDERR)
    assert stdout == b"OUT:to-stdout\n"
    assert stderr == b"ERR:to-stderr\n"
    assert client.exit_code == 5
    kinds = [kind for kind, _ in client.payloads]
    assert kinds.index(PayloadType.EXIT_CODE) > kinds.index(PayloadType.OUTPUT)
    assert (PayloadType.EXIT_CODE, b"EXIT_CODE: 5") in client.payloads


async def test_shell_gets_default_signal_dispositions(server: ServerHarness) -> None:
    # Python ignores SIGPIPE; a shell inheriting that would see `yes` spin on EPIPE, not die.
    session = server.new_session(
        "AWS-StartInteractiveCommand",
        {"command": ['{ yes; echo "status=$?" >&2; } | head -1']},
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert b"status=141" in client.output  # 128 + SIGPIPE
