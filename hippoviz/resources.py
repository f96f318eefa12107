"""One resolver for ``resources/`` in a checkout, an installed wheel and a frozen app."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding presets, protocols, icons and styles."""
    here = Path(__file__).resolve().parent
    candidates = [
        here / "_resources",  # wheel (force-included at build time)
        here.parent / "resources",  # source checkout
    ]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.insert(0, Path(frozen) / "resources")
    for c in candidates:
        if (c / "presets").is_dir():
            return c
    raise FileNotFoundError("hippoviz resources folder not found (broken installation)")


def resource(*parts: str) -> Path:
    """Path of one resource, e.g. ``resource("presets", "small.toml")``."""
    return resources_dir().joinpath(*parts)
