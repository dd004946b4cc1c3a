"""Moved to `ssm_tui.services` (no Textual there); kept while branches still import it."""

from ssm_tui.services import AwsLoop, DocumentChoice, ScopeChoice, Services, select_profiles

__all__ = ["AwsLoop", "DocumentChoice", "ScopeChoice", "Services", "select_profiles"]
