"""Named presets: TOML files in ``resources/presets/`` applied over the defaults."""

from __future__ import annotations

from pathlib import Path

from hippoviz.params.core import ParamError, load
from hippoviz.params.schema import Params

PRESETS: tuple[str, ...] = ("small", "default", "large", "hippoviz-0.1", "hippoviz-0.2",
                            "hippoviz-0.3", "hippoviz-0.4")


def _presets_dir() -> Path:
    # resources.py is stdlib-only; import lazily to keep params importable on its own
    from hippoviz.resources import resource

    return resource("presets")


def available() -> list[str]:
    return sorted(p.stem for p in _presets_dir().glob("*.toml"))


def load_preset(name: str, base: Params | None = None) -> Params:
    """The parameters of preset ``name`` (unknown names raise :class:`ParamError`)."""
    path = _presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise ParamError(f"unknown preset '{name}' (available: {', '.join(available())})")
    return load(path, base)
