"""Shared fixtures of the hippoviz test suite."""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..",
                                                      ".numba_cache"))

import pytest

from hippoviz import params as P


@pytest.fixture(scope="session")
def small_params() -> P.Params:
    return P.load_preset("small")
