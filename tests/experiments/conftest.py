"""Fixtures of the experiment tests.

The science checks (``@pytest.mark.slow``, default preset, realistic durations, minutes of
wall time) run with the rest of the suite; deselect them with ``-m "not slow"``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def no_figures() -> Callable[[dict[str, Any], Path], list[str]]:
    """A figure writer that draws nothing (for tests that only need the numbers)."""

    def write(data: dict[str, Any], out: Path) -> list[str]:
        return []

    return write
