"""Fixtures for the data-channel tests: a real server for `serve` on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.datachannel.harness import ServerHarness


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHarness]:
    harness = ServerHarness(Path(tmp_path_factory.mktemp("datachannel"))).start()
    try:
        yield harness
    finally:
        harness.stop()
        harness.faults.reset()
