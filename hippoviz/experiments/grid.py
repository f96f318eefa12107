"""The grid of a parameter sweep: ``--grid KEY=A:B:N`` or ``--grid KEY=a,b,c``, checked
against the parameter schema before anything runs.

- ``A:B:N``: N evenly spaced values from A to B inclusive (a number parameter; for an integer
  parameter every value must be a whole number);
- ``a,b,c``: a list of values, each read as ``--set`` reads a value (numbers, ``true``/
  ``false``, choice names).

Every value is validated by :func:`hippoviz.params.coerce` (type, range, choices), so that a
grid that names an unknown parameter, leaves its range, is empty, malformed or names a
parameter twice is refused with one line before a single run starts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hippoviz import params as P
from hippoviz.params.core import parse_value

#: At most this many values along one axis, and grid points in all.
MAX_VALUES = 1000
MAX_POINTS = 100_000


class GridError(P.ParamError):
    """A grid that cannot be swept (its message is one line naming the problem)."""


@dataclass(frozen=True)
class GridAxis:
    """One swept parameter: its dotted key, its values (in the parameter's type) and the
    specification they were read from."""

    key: str
    values: tuple[Any, ...]
    spec: str = ""

    @property
    def name(self) -> str:
        """The parameter's name without its section (``g_ca3_dg``)."""
        return self.key.split(".", 1)[-1]

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "values": list(self.values)}


def _number(text: str, what: str, item: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise GridError(f"--grid {item}: {what} {text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise GridError(f"--grid {item}: {what} {text.strip()!r} is not a finite number")
    return v


def _tidy(v: float) -> float:
    """``0.6000000000000001`` -> ``0.6``: twelve significant digits, what a person typed."""
    return float(f"{v:.12g}")


def parse_axis(item: str) -> GridAxis:
    """Read one ``KEY=A:B:N`` or ``KEY=a,b,c``; raises :class:`GridError` (one line)."""
    if "=" not in item:
        raise GridError(f"--grid expects KEY=A:B:N or KEY=a,b,c, got {item!r}")
    key, spec_text = (s.strip() for s in item.split("=", 1))
    if not key:
        raise GridError(f"--grid expects KEY=A:B:N or KEY=a,b,c, got {item!r}")
    try:
        s = P.spec(key)
    except P.ParamError as exc:
        raise GridError(f"--grid: {exc}") from None
    if s.type is tuple:
        raise GridError(f"--grid {key}: a list-valued parameter cannot be swept")
    if not spec_text:
        raise GridError(f"--grid {key}: no values (give A:B:N or a,b,c)")
    raw: list[Any]
    if ":" in spec_text:
        parts = spec_text.split(":")
        if len(parts) != 3:
            raise GridError(f"--grid {key}={spec_text}: a range is A:B:N (from A to B, N "
                            f"values), got {len(parts)} fields")
        if s.type not in (int, float):
            raise GridError(f"--grid {key}: A:B:N needs a number parameter; list the values "
                            f"instead (a,b,c)")
        a = _number(parts[0], "start", key)
        b = _number(parts[1], "end", key)
        try:
            n = int(parts[2].strip())
        except ValueError:
            raise GridError(f"--grid {key}={spec_text}: the number of values N = "
                            f"{parts[2].strip()!r} is not a whole number") from None
        if n < 1:
            raise GridError(f"--grid {key}={spec_text}: empty range (N = {n}; give N >= 1)")
        if n > MAX_VALUES:
            raise GridError(f"--grid {key}={spec_text}: at most {MAX_VALUES} values")
        if n == 1 and a != b:
            raise GridError(f"--grid {key}={spec_text}: one value from {a:g} to {b:g} is "
                            f"ambiguous; give the value alone")
        raw = [_tidy(a + (b - a) * i / (n - 1)) if n > 1 else a for i in range(n)]
        if s.type is int:
            raw = [int(v) if float(v).is_integer() else v for v in raw]
    else:
        texts = spec_text.split(",")
        if any(not t.strip() for t in texts):
            raise GridError(f"--grid {key}={spec_text}: an empty value in the list")
        if len(texts) > MAX_VALUES:
            raise GridError(f"--grid {key}: at most {MAX_VALUES} values")
        raw = []
        for t in texts:
            try:
                raw.append(parse_value(t.strip()))
            except P.ParamError as exc:
                raise GridError(f"--grid {key}: {exc}") from None
    values = []
    for v in raw:
        try:
            values.append(P.coerce(key, v))
        except P.ParamError as exc:
            raise GridError(f"--grid: {exc}") from None
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise GridError(f"--grid {key}: the value {v!r} is given twice")
        seen.add(v)
    return GridAxis(key, tuple(values), spec_text)


def parse_grid(items: Sequence[str]) -> tuple[GridAxis, ...]:
    """Read every ``--grid``; refuses no grid, a key given twice and too many points."""
    if not items:
        raise GridError("give at least one --grid KEY=A:B:N or KEY=a,b,c")
    axes: list[GridAxis] = []
    for item in items:
        ax = parse_axis(item)
        if any(a.key == ax.key for a in axes):
            raise GridError(f"--grid {ax.key} is given twice")
        axes.append(ax)
    n = math.prod(len(a.values) for a in axes)
    if n > MAX_POINTS:
        raise GridError(f"--grid: {n} grid points; at most {MAX_POINTS}")
    return tuple(axes)


def grid_points(axes: Sequence[GridAxis]) -> list[dict[str, Any]]:
    """Every point of the grid as ``{key: value}``, the first axis varying slowest."""
    return [dict(zip([a.key for a in axes], combo, strict=True))
            for combo in itertools.product(*(a.values for a in axes))]


def check_points(base: P.Params, axes: Sequence[GridAxis],
                 overrides: Mapping[str, Any] | None = None) -> None:
    """Refuse a grid that clashes with ``overrides`` (``--set`` of the same key) or whose
    points, applied over ``base`` and ``overrides``, do not validate."""
    over = dict(overrides or {})
    for a in axes:
        if a.key in over:
            raise GridError(f"--grid {a.key} is also given with --set; give it once")
    for pt in grid_points(axes):
        try:
            P.replace(base, {**over, **pt})
        except P.ParamError as exc:
            raise GridError(f"--grid: {exc}") from None


def format_value(v: Any) -> str:
    """A grid value as a short label (``0.25``, ``true``, ``grid``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
