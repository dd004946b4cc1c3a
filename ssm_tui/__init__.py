"""ssm-tui: a keyboard-driven terminal UI for AWS Systems Manager Session Manager."""

__version__ = "0.1.0"
