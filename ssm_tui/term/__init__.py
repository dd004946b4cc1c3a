"""Pty processes and terminal emulation behind a small interface. No AWS, no Textual."""
