"""Pure pieces of the data channel: UTF-8-safe chunking, transcript events, document plans."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ssm_tui.sandbox.datachannel import plan_for
from ssm_tui.sandbox.sessions import InstanceView, LoggingPrefs, SandboxSession
from ssm_tui.sandbox.shell import prompt_for, split_utf8
from ssm_tui.sandbox.transcripts import Transcript, output_urls, s3_key


@given(st.text(), st.binary(max_size=8), st.integers(min_value=4, max_value=64))
def test_split_utf8_never_cuts_a_character(text: str, noise: bytes, limit: int) -> None:
    data = text.encode() + noise
    chunks, rest = split_utf8(data, limit)
    assert b"".join(chunks) + rest == data
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert len(rest) <= 3
    if not noise:  # valid UTF-8: every chunk decodes on its own
        assert rest == b""
        for chunk in chunks:
            chunk.decode()


def test_split_utf8_keeps_a_truncated_sequence_for_the_next_read() -> None:
    chunks, rest = split_utf8("ab✓".encode()[:-1])
    assert chunks == [b"ab"] and rest == "✓".encode()[:2]


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=30))
def test_transcript_events_rebuild_the_output(pieces: list[bytes]) -> None:
    transcript = Transcript()
    for index, piece in enumerate(pieces):
        transcript.add(piece, when_ms=1_000 + index)
    assert transcript.raw() == b"".join(pieces)
    events = transcript.events()
    text = "".join(message for _, message in events)
    assert text == b"".join(pieces).decode("utf-8", errors="replace") or b"\n" in b"".join(pieces)
    assert all(message.endswith("\n") for _, message in events[:-1])  # whole lines per event
    assert [stamp for stamp, _ in events] == sorted(stamp for stamp, _ in events)


def test_transcript_keeps_the_end_when_over_its_limit() -> None:
    transcript = Transcript(limit=10)
    for piece in (b"aaaa", b"bbbb", b"cccc", b"dddd"):
        transcript.add(piece, when_ms=1)
    raw = transcript.raw()
    assert raw.endswith(b"ccccdddd") and b"aaaa" not in raw
    assert b"truncated, 8 bytes" in raw


def _session(document: str, parameters: dict[str, list[str]]) -> SandboxSession:
    return SandboxSession(
        session_id="alice-0123456789abcdef0",
        token="t",
        account_id="111111111111",
        region="eu-west-1",
        target="i-1",
        document_name=document,
        parameters=parameters,
        owner="arn:aws:iam::111111111111:user/alice",
        reason=None,
        instance=InstanceView("i-1", "web", "web-1", "Linux"),
        logging=LoggingPrefs("/aws/ssm/sessions", "acme-logs", "ssm/"),
    )


def test_plans_follow_the_documents() -> None:
    assert plan_for(_session("SSM-SessionManagerRunShell", {})).handshake is False
    port = plan_for(
        _session(
            "AWS-StartPortForwardingSessionToRemoteHost", {"portNumber": ["5432"], "host": ["db"]}
        )
    )
    assert port.session_type == "Port" and port.multiplexed and port.port == 5432
    assert port.host == "127.0.0.1" and port.properties and port.properties["host"] == "db"
    ssh = plan_for(_session("AWS-StartSSHSession", {}))
    assert ssh.port == 22 and not ssh.multiplexed
    command = plan_for(_session("AWS-StartNonInteractiveCommand", {"command": ["uname"]}))
    assert command.handshake and command.command == "uname"


def test_prompt_never_carries_shell_code() -> None:
    nasty = InstanceView("i-1", "x", "$(touch pwned)`id`\\n[bold]", "Linux")
    prompt = prompt_for(nasty)
    assert "$(" not in prompt and "`" not in prompt and "[" not in prompt


def test_s3_key_and_output_urls() -> None:
    session = _session("SSM-SessionManagerRunShell", {})
    assert s3_key(session) == "ssm/alice-0123456789abcdef0.log"
    urls = output_urls(session)
    assert "acme-logs" in urls["S3OutputUrl"]
    assert "alice-0123456789abcdef0" in urls["CloudWatchOutputUrl"]
