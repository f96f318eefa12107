"""Shared recordings for the tests of :mod:`hippoviz.record` (small preset, a few seconds)."""

from __future__ import annotations

import pytest

from hippoviz import params as P

from .helpers import Session, record_session


@pytest.fixture(scope="session")
def session(tmp_path_factory: pytest.TempPathFactory, small_params: P.Params) -> Session:
    """One recording with live changes and manipulations, shared by the read-only tests."""
    path = tmp_path_factory.mktemp("rec") / "session.h5"
    return record_session(path, small_params)
