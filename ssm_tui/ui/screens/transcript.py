"""The transcript viewer: one session's recorded output, opened lazily and shown safely.

Opening is instant whatever the size: a worker reads the first page (one CloudWatch page or one
ranged S3 read), and more pages only as the user scrolls near the end, searches past what is
loaded, jumps to a later time or saves. Every line goes through `ssm_tui.term.transcript`: what a
terminal would have shown (colours kept) or, in the raw view, the escape sequences as symbols.
Nothing from the transcript is parsed as markup or written to the real terminal: lines are Rich
`Text` built from plain strings and drawn as Strips.

Three views: *lines* (default: each line as a terminal shows it, colours kept, other sequences
dropped), *raw* (`v`: the escape sequences as symbols) and *screen* (`e`: what has been read so far
replayed through the terminal emulator of `ssm_tui.term`, for full-screen programs; its title and
replies go nowhere). Memory stays bounded whatever the transcript's size: the document spools its
lines to a file (`ssm_tui.term.transcript`), the lines view keeps a few thousand rendered lines,
and the screen view a fixed scrollback; a long replay runs in slices between frames, shows its
progress, and `escape` cancels it.

Keys: `/` search, `n`/`N` next/previous match, `t` jump to a time, `s` save, `v` raw, `e` screen,
`g`/`G` top/end, `escape` close.
"""

from __future__ import annotations

import asyncio
import os
import time as clock
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from ssm_tui.aws.exceptions import LogsError
from ssm_tui.aws.models.logs import LogsProblem, TranscriptRef
from ssm_tui.services import Services
from ssm_tui.term.transcript import SearchHit, TranscriptDocument, render_line, visible_line
from ssm_tui.timefmt import format_time, parse_time, zone_label
from ssm_tui.ui.widgets.key_bar import KeyBar

_CACHE_LINES = 2000
"""Rendered lines kept (a screenful is ~50; scrolling back and forth stays cheap)."""
REPLAY_SLICE = 0.03
"""Seconds of emulator work per slice of a replay: the UI answers keys in between."""
PROGRESS_EVERY = 0.25
"""Seconds between two redraws of a replay under way (its progress in the status line)."""


class TranscriptView(ScrollView, can_focus=True):
    """A virtual view over a `TranscriptDocument`: draws only the visible lines."""

    BINDINGS = [
        # ids: the help screen lists bindings that have one (issue 15: it lists these too)
        Binding("up,k", "scroll_up", "Up", show=False, id="transcript.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="transcript.down"),
        Binding("left,h", "scroll_left", "Left", show=False, id="transcript.left"),
        Binding("right,l", "scroll_right", "Right", show=False, id="transcript.right"),
        Binding("pageup,b", "page_up", "Page up", show=False, id="transcript.page_up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="transcript.page_down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="transcript.top"),
        Binding(
            "end,G",
            "scroll_end",
            "End",
            show=False,
            id="transcript.end",
            tooltip="The real end: reads the rest of the transcript first",
        ),  # fmt: skip
    ]

    COMPONENT_CLASSES = {"transcript-view--match", "transcript-view--current"}

    class ReplayProgress(Message):
        """The screen replay fed more lines (`done`: it caught up with the document)."""

        def __init__(self, fed: int, total: int, done: bool) -> None:
            super().__init__()
            self.fed = fed
            self.total = total
            self.done = done

    class EndWanted(Message):
        """`G`/End: the real end of the transcript, not of the pages read so far."""

    class NearEnd(Message):
        """The visible area reached the last loaded lines: time for another page."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TranscriptView.NearEnd)

    def __init__(self, document: TranscriptDocument, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.document = document
        self.mode = "lines"
        """'lines' (interpreted per line), 'raw' (escapes as symbols) or 'screen' (emulator)."""
        self.replay: ScreenReplay | None = None
        self.needle = ""
        self.current: SearchHit | None = None
        self._cache: OrderedDict[tuple[int, str, int], Text] = OrderedDict()
        self._replay_timer: Any = None
        self._replay_shown = 0.0

    @property
    def raw(self) -> bool:
        return self.mode == "raw"

    @property
    def line_count(self) -> int:
        """Lines in the current view (the screen replay has its own line count)."""
        if self.mode == "screen" and self.replay is not None:
            return self.replay.length
        return len(self.document)

    @property
    def replaying(self) -> bool:
        """A replay slice is scheduled (the screen view has not caught up yet)."""
        return self._replay_timer is not None

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False, immediate=True)
        self.post_message(self.EndWanted())

    def document_changed(self) -> None:
        """New lines arrived: grow the virtual size and redraw."""
        self._cache.clear()  # the last line may have grown
        if self.mode == "screen" and self.replay is not None:
            if not self.replaying:
                self._replay_more()
            return
        else:
            self.virtual_size = Size(self.document.max_width + 1, len(self.document))
        self.refresh()
        self._check_near_end()

    def set_mode(self, mode: str) -> None:
        """Switch between the 'lines', 'raw' and 'screen' views."""
        if mode == "screen" and self.replay is None:
            self.replay = ScreenReplay(cols=max(80, min(self.document.max_width, 400)))
        if mode != "screen":
            self._stop_replay()  # kept: coming back resumes where it was
        self.mode = mode
        self.document_changed()

    def cancel_replay(self) -> None:
        """Stop a replay for good and go back to the lines view (its memory is freed)."""
        self._stop_replay()
        self.replay = None
        self.set_mode("lines")

    def _stop_replay(self) -> None:
        if self._replay_timer is not None:
            self._replay_timer.stop()
            self._replay_timer = None

    def _replay_more(self) -> None:
        """Feed the replay for one slice (`REPLAY_SLICE`); schedule the next if behind."""
        self._replay_timer = None
        replay = self.replay
        if self.mode != "screen" or replay is None:
            return
        deadline = clock.monotonic() + REPLAY_SLICE
        done = replay.step(self.document)
        while not done and clock.monotonic() < deadline:
            done = replay.step(self.document)
        now = clock.monotonic()
        if done or now - self._replay_shown >= PROGRESS_EVERY:
            self._replay_shown = now
            self._cache.clear()
            self.virtual_size = Size(replay.cols, replay.length)
            self.refresh()
            self.post_message(self.ReplayProgress(replay.fed, replay.target(self.document), done))
        if not done:
            self._replay_timer = self.set_timer(0.001, self._replay_more)
        else:
            self._check_near_end()

    def set_search(self, needle: str, current: SearchHit | None) -> None:
        self.needle = needle
        self.current = current
        self._cache.clear()
        self.refresh()

    def _check_near_end(self) -> None:
        if self.document.complete:
            return
        if self.scroll_offset.y + 2 * max(self.size.height, 1) >= self.line_count:
            self.post_message(self.NearEnd())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._check_near_end()

    def on_resize(self) -> None:
        self._check_near_end()

    def _line_text(self, index: int) -> Text:
        current = self.current.line if self.current and self.current.line == index else -1
        key = (index, self.mode, current)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if self.mode == "screen" and self.replay is not None:
            text = self.replay.text(index)
            self._cache[key] = text
            return text
        raw_line = self.document.lines[index]
        if self.mode == "raw":
            text = Text(visible_line(raw_line), no_wrap=True, end="")
        else:
            text = render_line(raw_line)
        if self.needle:
            text = text.copy()
            match_style = self.get_component_rich_style("transcript-view--match")
            current_style = self.get_component_rich_style("transcript-view--current")
            folded, haystack = self.needle.casefold(), text.plain.casefold()
            start = haystack.find(folded)
            while start >= 0:
                end = start + len(self.needle)
                hit = self.current
                is_current = hit is not None and hit.line == index and hit.start == start
                text.stylize(current_style if is_current else match_style, start, end)
                start = haystack.find(folded, end)
        self._cache[key] = text
        if len(self._cache) > _CACHE_LINES:
            self._cache.popitem(last=False)
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= self.line_count:
            return Strip.blank(width, base)
        text = self._line_text(index)
        segments = list(text.render(self.app.console))
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        return strip.apply_style(Style(bgcolor=base.bgcolor, color=base.color))

    def show_line(self, index: int) -> None:
        """Scroll so `index` is visible, a few lines below the top."""
        self.scroll_to(y=max(0, index - 3), animate=False)


class ScreenReplay:
    """The transcript read so far, played through the terminal emulator (the screen view).

    Fed complete lines in steps (`step`) as pages arrive; its lines are the emulator's
    scrollback then its screen. The scrollback is fixed (`SCROLLBACK`): what a terminal would
    keep, so memory does not follow the transcript's size (it used to be 200,000 lines of cells:
    gigabytes for `seq 1 3000000`). The emulator keeps what a terminal would (title, replies to
    queries) to itself.
    """

    ROWS = 50
    SCROLLBACK = 5_000
    STEP_LINES = 2_000

    def __init__(self, cols: int) -> None:
        from ssm_tui.term.emulator import create_emulator

        self.cols = cols
        self.emulator = create_emulator(cols, self.ROWS, self.SCROLLBACK)
        self.fed = 0
        """Document lines fed so far (the open last line waits until it is complete)."""
        self.length = 0
        """Lines to show: the scrollback and the screen's used rows (kept after each step)."""

    @staticmethod
    def target(document: TranscriptDocument) -> int:
        """Lines to feed to be caught up (the open last line waits until it is complete)."""
        return len(document) if document.complete else max(len(document) - 1, 0)

    def step(self, document: TranscriptDocument, limit: int | None = None) -> bool:
        """Feed up to `limit` (`STEP_LINES`) more lines; True once caught up with `document`."""
        limit = self.STEP_LINES if limit is None else limit
        target = self.target(document)
        upto = min(target, self.fed + limit)
        if upto > self.fed:
            parts: list[str] = []
            for line in document.iter_lines(self.fed):
                if len(parts) >= upto - self.fed:
                    break
                parts.append(line + ("\n" if line.endswith("\r") else "\r\n"))
            self.emulator.feed("".join(parts).encode("utf-8", "replace"))
            self.emulator.take_replies()  # answers to device queries go nowhere
            self.fed = upto
            self.length = self._length()
        return self.fed >= target

    def catch_up(self, document: TranscriptDocument) -> None:
        """Feed everything there is now (small documents, tests)."""
        while not self.step(document):
            pass

    def __len__(self) -> int:
        return self.length

    def _length(self) -> int:
        emulator = self.emulator
        used = 0
        for y in range(emulator.rows - 1, -1, -1):
            if any(cell.text.strip() for cell in emulator.line(y)):
                used = y + 1
                break
        return emulator.scrollback_len + used

    def text(self, index: int) -> Text:
        from ssm_tui.ui.widgets.terminal import _rich_style

        emulator = self.emulator
        history = emulator.scrollback_len
        cells = (
            emulator.scrollback_line(index) if index < history else emulator.line(index - history)
        )
        text = Text(no_wrap=True, end="")
        for cell in cells:
            if cell.text:
                text.append(cell.text, _rich_style(cell.style))
        text.rstrip()
        return text


@dataclass
class PagesLoaded(Message):
    """The reader fed one more page into the document."""

    done: bool
    total_size: int | None


@dataclass
class TranscriptFailed(Message):
    """The transcript could not be opened or read (not configured, denied, not written yet)."""

    problems: list[LogsProblem]


@dataclass
class TranscriptOpened(Message):
    """The reader chose which transcript to show (CloudWatch first, it has times)."""

    ref: TranscriptRef


class TranscriptScreen(Screen[None]):
    """Full-screen viewer for one transcript (a `TranscriptRef`, or a session id to look up)."""

    CSS_PATH = "../styles/transcript.tcss"
    HELP_SECTIONS = (
        (
            "Transcript",
            (
                ("/ then n, N", "search; next and previous match wrap around at either end"),
                ("G, End", "the last line of the whole transcript (reads the rest first)"),
                ("t", "jump to a time (CloudWatch transcripts carry times)"),
                ("v, e", "raw escapes; the screen as a terminal showed it"),
            ),
        ),
    )
    """What the help screen (`?`) shows below the keys, instead of the fleet's filter help."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="transcript.close", tooltip="Back"),
        Binding("slash", "prompt('search')", "Search", id="transcript.search", tooltip="Find"),
        Binding("n", "next_match(1)", "Next", id="transcript.next", tooltip="Next match"),
        Binding("N", "next_match(-1)", "Prev", id="transcript.prev", tooltip="Previous match"),
        Binding("t", "prompt('time')", "Time", id="transcript.time", tooltip="Jump to a time"),
        Binding("s", "prompt('save')", "Save", id="transcript.save", tooltip="Save as text"),
        Binding("v", "view('raw')", "Raw", id="transcript.raw", tooltip="Show the escapes"),
        Binding("e", "view('screen')", "Screen", id="transcript.screen", tooltip="Emulate"),
    ]

    def __init__(
        self,
        ref: TranscriptRef | None = None,
        *,
        session_id: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        source: Any = None,
    ) -> None:
        super().__init__()
        self.source = source
        """`ssm_tui.services.TranscriptSource` (find/open on the AWS loop); None: the app's
        services object's."""
        if ref is None and not (session_id and profile and region):
            raise ValueError("TranscriptScreen needs a TranscriptRef or session_id+profile+region")
        self.ref = ref
        self.session_id = ref.session_id if ref else str(session_id)
        self.aws_profile = ref.profile if ref else str(profile)
        self.aws_region = ref.region if ref else str(region)
        self.document = TranscriptDocument()
        self.total_size: int | None = ref.size if ref else None
        self.problems: list[LogsProblem] = []
        self._wanted = asyncio.Event()
        self._prompt_kind = ""
        self._needle = ""
        self._search_from: int | None = None
        """Set while a search waits for more pages: where to continue, and its direction."""
        self._search_step = 1
        self._time_target: datetime | None = None
        self._save_path: Path | None = None
        self._end_wanted = False
        """`G` while pages remain: read them all, then show the last line."""
        self._overwrite: Path | None = None
        """A save waiting for the user's yes to replace this existing file."""
        self._loading = True

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="transcript-body"):
            yield Static("", id="transcript-title", markup=False)
            yield TranscriptView(self.document, id="transcript-view")
            prompt = Input(id="transcript-prompt")
            prompt.display = prompt.can_focus = False  # shown (and focusable) by / t s only
            yield prompt
            yield Static("", id="transcript-status", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self._update_title()
        self._update_status()
        self.view.focus()
        self._wanted.set()
        self.read_pages()

    def on_unmount(self) -> None:
        self.document.close()  # its spool file

    @property
    def view(self) -> TranscriptView:
        return self.query_one("#transcript-view", TranscriptView)

    def _update_title(self) -> None:
        ref = self.ref
        if ref is None:
            where = f"{self.aws_profile} {self.aws_region}"
        elif ref.source == "s3":
            where = f"S3 {ref.location}"
        else:
            where = f"CloudWatch {ref.container}"
        title = Text(f"{visible_line(self.session_id)}  ·  {where}", end="")
        self.query_one("#transcript-title", Static).update(title)

    def _update_status(self, note: str = "") -> None:
        doc = self.document
        parts: list[str] = []
        if self.problems:
            for problem in self.problems:
                parts.append(f"{problem.message}. {problem.hint}".strip())
        else:
            size = f"{_human(doc.byte_count)}"
            if self.total_size:
                size += f" of {_human(self.total_size)}"
            state = "loading…" if self._loading else ("end" if doc.complete else "more below")
            parts.append(f"{len(doc):,} lines · {size} · {state}")
            mode = self.view.mode if self.is_mounted else "lines"
            if mode != "lines":
                parts.append(f"{mode} view")
            if self._needle:
                parts.append(f"search: {self._needle}")
        if note:
            parts.append(note)
        self.query_one("#transcript-status", Static).update(Text("  ·  ".join(parts)))

    # -- reading -----------------------------------------------------------------------------

    def _want_more(self) -> bool:
        """Whether the reader should fetch another page now."""
        if self.document.complete:
            return False
        view = self.view
        needs_lines = view.scroll_offset.y + 2 * max(view.size.height, 24) >= view.line_count
        return (
            needs_lines
            or self._search_from is not None
            or self._time_target is not None
            or self._save_path is not None
            or self._end_wanted
        )

    def _kick(self) -> None:
        if not self.document.complete:
            self._loading = True
            self._wanted.set()

    @work(exclusive=True, group="transcript-reader", exit_on_error=False)
    async def read_pages(self) -> None:
        """Read pages while the screen wants them; sleep otherwise. Cancelled on close."""
        ref = self.ref
        source = self.source or Services.of(self.app).transcript_source()
        try:
            if ref is None:
                refs, problems = await source.find(
                    self.aws_profile, self.aws_region, self.session_id
                )
                if not refs:
                    self.post_message(TranscriptFailed(problems))
                    return
                ref = refs[0]
                self.post_message(TranscriptOpened(ref))
            async with source.open(ref) as reader:
                while True:
                    await self._wanted.wait()
                    page = await reader.next_page()
                    for text, stamp in page.chunks:
                        self.document.feed(text, stamp)
                    if page.raw:
                        self.document.feed_bytes(page.raw)
                    if page.done:
                        self.document.finish()
                    self.post_message(PagesLoaded(page.done, page.total_size))
                    if page.done:
                        return
                    if not self._want_more():
                        self._wanted.clear()
        except LogsError as exc:
            self.post_message(TranscriptFailed([exc.problem]))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """An unexpected failure of the reader or the save: shown, never swallowed."""
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group in ("transcript-reader", "transcript-save"):
            self._loading = False
            self._update_status(f"{event.worker.group} failed: {event.worker.error}")

    @on(TranscriptOpened)
    def _opened(self, message: TranscriptOpened) -> None:
        self.ref = message.ref
        self.total_size = message.ref.size if message.ref.source == "s3" else None
        self._update_title()

    @on(TranscriptFailed)
    def _failed(self, message: TranscriptFailed) -> None:
        self.problems = message.problems
        self._loading = False
        self.add_class("-problem")
        self._update_status()

    @on(PagesLoaded)
    def _pages_loaded(self, message: PagesLoaded) -> None:
        if message.total_size is not None:
            self.total_size = message.total_size
        self._loading = not message.done and self._wanted.is_set()
        self.view.document_changed()
        note = self._resolve_pending()
        self._update_status(note)

    @on(TranscriptView.ReplayProgress)
    def _replay_progress(self, message: TranscriptView.ReplayProgress) -> None:
        if not message.done and not self.view.replaying:
            return  # cancelled meanwhile
        if message.done:
            self._update_status()
            return
        share = message.fed / message.total if message.total else 1.0
        self._update_status(
            f"replaying {message.fed:,} of {message.total:,} lines ({share:.0%}) · escape: cancel"
        )

    @on(TranscriptView.EndWanted)
    def _end_wanted_now(self) -> None:
        if self.document.complete:
            return
        self._end_wanted = True
        self._kick()
        self._update_status("reading to the end…")

    @on(TranscriptView.NearEnd)
    def _near_end(self) -> None:
        if self._want_more():
            self._kick()
            self._update_status()

    def _resolve_pending(self) -> str:
        """Finish a search / time jump / save that was waiting for pages."""
        doc = self.document
        note = ""
        if self._search_from is not None:
            hit = doc.search(self._needle, self._search_from, backwards=self._search_step < 0)
            if hit is not None:
                self._search_from = None
                self._show_hit(hit)
            elif doc.complete:
                self._search_from = None
                note = self._wrap_search(self._search_step)
            else:
                self._search_from = max(len(doc) - 1, 0)
        if self._time_target is not None:
            target = self._time_target
            last = doc.last_time()
            if doc.complete or (last is not None and last >= target.timestamp()):
                self._time_target = None
                index = doc.line_at_time(target)
                if index is not None:
                    self.view.show_line(index)
                    note = f"jumped to {format_time(target, label=True)} (line {index + 1})"
        if self._end_wanted and doc.complete:
            self._end_wanted = False
            self.view.scroll_end(animate=False, immediate=True)
            note = note or f"end (line {len(doc):,})"
        if self._save_path is not None and doc.complete:
            path, self._save_path = self._save_path, None
            self.save_to(path)
            note = f"saving to {path}…"
        return note

    # -- actions -----------------------------------------------------------------------------

    def action_close(self) -> None:
        prompt = self.query_one("#transcript-prompt", Input)
        if prompt.display:
            self._hide_prompt()
            return
        if self.view.replaying:  # a long replay: escape cancels it, a second one closes
            self.view.cancel_replay()
            self._update_status("screen replay cancelled")
            return
        self.dismiss(None)

    def action_view(self, mode: str) -> None:
        """Toggle the raw or screen view (pressing it again returns to lines)."""
        view = self.view
        view.set_mode("lines" if view.mode == mode else mode)
        self._update_status()

    def action_prompt(self, kind: str) -> None:
        prompt = self.query_one("#transcript-prompt", Input)
        self._prompt_kind = kind
        placeholders = {
            "search": "search for… (Enter; then n / N)",
            "time": f"jump to a time ({zone_label()}): HH:MM[:SS] or YYYY-MM-DD HH:MM[:SS]",
            "save": "save as text to file…",
            "overwrite": "",
        }
        prompt.placeholder = placeholders[kind]
        prompt.value = {"search": self._needle, "save": f"{self.session_id}.log"}.get(kind, "")
        prompt.display = prompt.can_focus = True
        prompt.focus()

    def _hide_prompt(self) -> None:
        prompt = self.query_one("#transcript-prompt", Input)
        prompt.display = prompt.can_focus = False
        self.view.focus()

    def ask_save(self, path: Path) -> None:
        """Save to `path`, asking first if it exists; a missing folder is refused, not made."""
        if not path.parent.is_dir():
            self._update_status(f"cannot save: no folder {path.parent} (create it first)")
            return
        if path.is_dir():
            self._update_status(f"cannot save: {path} is a folder")
            return
        if path.exists():
            self._overwrite = path
            self.action_prompt("overwrite")
            prompt = self.query_one("#transcript-prompt", Input)
            prompt.placeholder = f"{path} exists: overwrite it? y/N (Enter)"
            self._update_status(f"{path} exists: overwrite it? y / N")
            return
        self.request_save(path)

    @on(Input.Submitted, "#transcript-prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        kind = self._prompt_kind
        self._hide_prompt()
        if kind == "overwrite":
            path, self._overwrite = self._overwrite, None
            if path is not None and value.lower() in ("y", "yes"):
                self.request_save(path)
            else:
                self._update_status("not saved")
            return
        if not value:
            return
        if kind == "search":
            self.search(value)
        elif kind == "time":
            self.jump_to_time(value)
        elif kind == "save":
            self.ask_save(user_path(value))

    def search(self, needle: str) -> None:
        """Start a new search at the top of the visible area (in the lines view)."""
        if self.view.mode == "screen":
            self.view.set_mode("lines")
        self._needle = needle
        self._search_step = 1
        self.view.set_search(needle, None)
        self._find(self.view.scroll_offset.y, 1)

    def action_next_match(self, step: int) -> None:
        if not self._needle:
            self.action_prompt("search")
            return
        current = self.view.current
        start = (current.line + step) if current else self.view.scroll_offset.y
        self._find(start, step)

    def _find(self, start: int, step: int) -> None:
        doc = self.document
        hit = doc.search(self._needle, start, backwards=step < 0)
        if hit is not None:
            self._show_hit(hit)
            self._update_status()
            return
        if step > 0 and not doc.complete:
            self._search_from = max(start, 0)
            self._search_step = step
            self._kick()
            self._update_status("searching further…")
            return
        if step < 0 and not doc.complete:  # wrap to the bottom: read it first
            self._search_from = max(len(doc) - 1, 0)
            self._search_step = step
            self._kick()
            self._update_status("searching from the end…")
            return
        self._update_status(self._wrap_search(step))

    def _wrap_search(self, step: int) -> str:
        """Nothing more that way: go on from the other end (as less and vim do)."""
        doc = self.document
        start = 0 if step > 0 else max(len(doc) - 1, 0)
        hit = doc.search(self._needle, start, backwards=step < 0)
        if hit is None:
            return f"not found: {self._needle}"
        self._show_hit(hit)
        return "search wrapped to the top" if step > 0 else "search wrapped to the bottom"

    def _show_hit(self, hit: SearchHit) -> None:
        view = self.view
        view.set_search(self._needle, hit)
        view.show_line(hit.line)
        if hit.start < view.scroll_offset.x or hit.end > view.scroll_offset.x + view.size.width:
            view.scroll_to(x=max(0, hit.start - 10), animate=False)

    def jump_to_time(self, value: str) -> None:
        if self.view.mode == "screen":
            self.view.set_mode("lines")
        doc = self.document
        first = doc.first_time()
        if first is None:
            kind = "S3 objects" if self.ref and self.ref.source == "s3" else "this transcript"
            self._update_status(f"{kind} carry no timestamps; open the CloudWatch stream instead")
            return
        target = parse_time(value, datetime.fromtimestamp(first, UTC))
        # the same zone the panels show (`ssm_tui.timefmt`), named in the prompt
        if target is None:
            self._update_status(f"not a time: {value!r} (use HH:MM or YYYY-MM-DD HH:MM)")
            return
        self._time_target = target
        self._kick()
        self._update_status(self._resolve_pending())

    def request_save(self, path: Path) -> None:
        """Save the whole transcript as plain text (reads the remaining pages first)."""
        self._save_path = path
        if self.document.complete:
            self._update_status(self._resolve_pending())
        else:
            self._kick()
            self._update_status(f"reading the rest before saving to {path}…")

    @work(group="transcript-save", exit_on_error=False, thread=True)
    def save_to(self, path: Path) -> None:
        lines = list(self.document.iter_plain())
        try:
            with path.open("w", encoding="utf-8") as out:
                for line in lines:
                    out.write(line)
                    out.write("\n")
        except OSError as exc:
            self.app.call_from_thread(self._update_status, f"cannot save: {exc}")
            return
        self.app.call_from_thread(self._update_status, f"saved {len(lines):,} lines to {path}")


USER_HOME_ENV = "SSM_TUI_USER_HOME"
"""Set by `--demo`, whose HOME is a private folder deleted on exit: the user's real home."""


def viewer_for(request: Any, source: Any = None) -> TranscriptScreen:
    """The viewer a `TranscriptRequested` asks for (the screens' handler pushes it)."""
    return TranscriptScreen(
        request.ref,
        session_id=request.session_id,
        profile=request.profile,
        region=request.region,
        source=source,
    )


def user_path(value: str) -> Path:
    """A path the user typed; `~` is the user's home, the real one in `--demo` too."""
    home = os.environ.get(USER_HOME_ENV)
    if home and (value == "~" or value.startswith("~/")):
        return Path(home) / value[2:]
    return Path(value).expanduser()


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
