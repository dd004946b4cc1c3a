"""Async AWS services (aiobotocore). They do I/O and return the plain dataclasses of `models`.

Nothing here imports Textual: the UI renders what these return, and the CLI prints it.
"""
