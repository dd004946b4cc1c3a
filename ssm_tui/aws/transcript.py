"""Moved to `ssm_tui.term.transcript` (an ANSI line interpreter: no AWS in it, issue 14).

Kept only so branches written against the old path still import; new code imports
`ssm_tui.term.transcript`. Remove once every branch is merged.
"""

from __future__ import annotations

from ssm_tui.term.transcript import *  # noqa: F403
from ssm_tui.term.transcript import (  # noqa: F401 - the names other modules import
    SearchHit,
    TranscriptDocument,
    event_text,
    plain_line,
    plain_text,
    render_line,
    visible_line,
)
