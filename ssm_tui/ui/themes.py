"""ssm-tui's own theme, registered beside Textual's built-in ones (`ctrl+p` → "theme")."""

from __future__ import annotations

from textual.theme import Theme

SSM_DARK = Theme(
    name="ssm-dark",
    primary="#FF9900",  # the console's "smile" orange
    secondary="#3B82C4",
    accent="#F5B14C",
    foreground="#E6E6E6",
    background="#0F1419",
    surface="#161D26",
    panel="#232F3E",
    success="#3FB950",
    warning="#D29922",
    error="#F85149",
    dark=True,
)

THEMES = (SSM_DARK,)
DEFAULT_THEME = "ssm-dark"
