"""Session Manager logging against the sandbox: preferences, my transcripts, pages, clear states."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ssm_tui.aws.exceptions import LogsError
from ssm_tui.aws.logs import (
    find_transcripts,
    list_transcripts,
    open_transcript,
    problem_for,
    read_preferences,
)
from ssm_tui.aws.models.logs import LogsState, TranscriptRef
from ssm_tui.term.transcript import TranscriptDocument
from tests.history.conftest import (
    PROFILE,
    REGION,
    Ran,
    drive,
    linux_target,
    put_cloudwatch,
    put_s3,
    start_session,
)


async def read_all(ref: TranscriptRef) -> TranscriptDocument:
    doc = TranscriptDocument()
    async with open_transcript(ref) as reader:
        while True:
            page = await reader.next_page()
            for text, stamp in page.chunks:
                doc.feed(text, stamp)
            doc.feed_bytes(page.raw)
            if page.done:
                doc.finish()
                return doc


async def test_preferences_name_the_log_group_and_bucket(aws: Any) -> None:
    prefs = await read_preferences(PROFILE, REGION)
    assert prefs.log_group == "/acme/ssm/sessions"
    assert prefs.s3_bucket == "acme-ssm-sessions-111111111111-us-east-1"
    assert prefs.s3_key("alice-1") == "session-logs/alice-1.log"


async def test_finished_session_is_in_cloudwatch_and_s3_with_the_commands(
    aws: Any, finished: Ran
) -> None:
    listing = await list_transcripts(PROFILE, REGION)
    assert listing.caller is not None and listing.caller.name == "alice"
    assert not listing.problems
    mine = [ref for ref in listing.items if ref.session_id == finished.session_id]
    assert sorted(ref.source for ref in mine) == ["cloudwatch", "s3"]
    assert all(ref.session_id.startswith("alice-") for ref in listing.items)
    stamps = [ref.last_time for ref in listing.items]
    assert stamps == sorted(stamps, reverse=True)  # newest first

    for ref in mine:
        doc = await read_all(ref)
        text = "\n".join(doc.iter_plain())
        assert "echo hello-from-history" in text  # the command typed
        assert "\nhello-from-history" in text  # and what it printed
        assert "xxx" in text
        assert "\x1b" not in text
    cloudwatch = next(ref for ref in mine if ref.source == "cloudwatch")
    assert any(t is not None for t in (await read_all(cloudwatch)).times)


async def test_search_and_everyone_toggle(aws: Any, finished: Ran) -> None:
    put_cloudwatch("bob-0123456789abcdef0", ["bob was here\r\n"])
    mine = await list_transcripts(PROFILE, REGION, search=finished.session_id[-6:])
    assert {ref.session_id for ref in mine.items} == {finished.session_id}
    assert not any(
        r.session_id.startswith("bob-") for r in (await list_transcripts(PROFILE, REGION)).items
    )
    everyone = await list_transcripts(PROFILE, REGION, everyone=True)
    assert "bob-0123456789abcdef0" in {ref.session_id for ref in everyone.items}


async def test_large_transcripts_are_read_in_pages(aws: Any) -> None:
    lines = [f"line {i:05d} {'x' * 40}\r\n" for i in range(3000)]
    put_cloudwatch("alice-0000000000000paged", lines)
    body = "".join(lines).encode() * 10  # ~1.5 MB: several ranged reads
    put_s3("alice-0000000000000paged", body)
    refs, problems = await find_transcripts(PROFILE, REGION, "alice-0000000000000paged")
    assert not problems and len(refs) == 2
    for ref in refs:
        pages = 0
        async with open_transcript(ref) as reader:
            while not (await reader.next_page()).done:
                pages += 1
        assert pages >= 2, ref.source
        doc = await read_all(ref)
        expected = 3000 if ref.source == "cloudwatch" else 30000
        assert len(doc) == expected and doc.plain(expected - 1).startswith("line 02999")


async def test_logging_not_configured_says_how_to_turn_it_on(aws: Any) -> None:
    listing = await list_transcripts(PROFILE, "ap-northeast-1")  # no preferences there
    [problem] = listing.problems
    assert problem.state is LogsState.NOT_CONFIGURED
    assert "Preferences" in problem.hint and not listing.items


async def test_active_session_has_no_transcript_yet(aws: Any) -> None:
    started = await start_session(await linux_target())
    try:
        refs, problems = await find_transcripts(PROFILE, REGION, started["SessionId"])
        assert refs == []
        assert {p.state for p in problems} == {LogsState.NOT_WRITTEN}
        assert {p.source for p in problems} == {"cloudwatch", "s3"}
        assert "when the session ends" in problems[0].hint
    finally:
        await drive(started, [])
    refs, problems = await find_transcripts(PROFILE, REGION, started["SessionId"])
    assert len(refs) == 2 and not problems


async def test_stream_deleted_under_the_reader_is_not_written(aws: Any) -> None:
    ref = TranscriptRef(
        "cloudwatch", PROFILE, REGION, "alice-gone", "/acme/ssm/sessions", "alice-gone"
    )
    async with open_transcript(ref) as reader:
        try:
            await reader.next_page()
        except LogsError as exc:
            assert exc.problem.state is LogsState.NOT_WRITTEN
        else:
            raise AssertionError("reading a missing stream must fail with a shown state")


def test_denied_call_names_the_iam_action() -> None:
    # The sandbox grants every logs/S3 call, so the denial is the error AWS sends, built here.
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetLogEvents"
    )
    problem = problem_for(denied, "prod", "us-east-1", "GetLogEvents", "cloudwatch")
    assert problem.state is LogsState.NO_PERMISSION and problem.action == "logs:GetLogEvents"
    assert "logs:GetLogEvents" in problem.message and "kms:Decrypt" in problem.hint
    s3_denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "x"}}, "ListObjectsV2")
    assert problem_for(s3_denied, "p", None, "ListObjectsV2", "s3").action == "s3:ListBucket"
