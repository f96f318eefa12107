"""Access, validation and TOML I/O of :class:`~hippoviz.params.schema.Params` (stdlib only)."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hippoviz.params.schema import Meta, Params


class ParamError(ValueError):
    """A parameter key, value or file that cannot be accepted. Its message is one line."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its dotted key, type, default and metadata."""

    key: str
    type: type
    default: Any
    meta: Meta

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


def _field_type(cls: type, f: dataclasses.Field[Any]) -> type:
    ann = cls.__annotations__[f.name]
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
    if text.startswith("tuple"):
        return tuple
    return {"float": float, "int": int, "str": str, "bool": bool}[text]


def _build_specs() -> dict[str, ParamSpec]:
    specs: dict[str, ParamSpec] = {}
    for sec in dataclasses.fields(Params):
        sec_cls = type(sec.default) if sec.default is not dataclasses.MISSING else None
        assert sec_cls is not None
        for f in dataclasses.fields(sec_cls):
            key = f"{sec.name}.{f.name}"
            specs[key] = ParamSpec(key, _field_type(sec_cls, f), f.default, f.metadata["meta"])
    return specs


SPECS: dict[str, ParamSpec] = _build_specs()
SECTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Params))


def iter_specs() -> Iterator[ParamSpec]:
    """Every parameter in declaration order."""
    return iter(SPECS.values())


def closest_key(key: str) -> str | None:
    match = difflib.get_close_matches(key, list(SPECS), n=1, cutoff=0.4)
    if match:
        return match[0]
    # try matching the last component alone (e.g. "g_ca3_dg" -> "learning.g_ca3_dg")
    tail = key.rsplit(".", 1)[-1]
    names = {s.name: s.key for s in SPECS.values()}
    m2 = difflib.get_close_matches(tail, list(names), n=1, cutoff=0.5)
    return names[m2[0]] if m2 else None


def spec(key: str) -> ParamSpec:
    """The spec of ``key``; an unknown key raises :class:`ParamError` naming the closest one."""
    try:
        return SPECS[key]
    except KeyError:
        near = closest_key(key)
        hint = f" (did you mean '{near}'?)" if near else ""
        raise ParamError(f"unknown parameter '{key}'{hint}") from None


def _range_text(m: Meta) -> str:
    if m.choices:
        return "one of " + ", ".join(m.choices)
    lo = "-inf" if m.lo is None else f"{m.lo:g}"
    hi = "inf" if m.hi is None else f"{m.hi:g}"
    return f"[{lo}, {hi}]"


def coerce(key: str, value: Any) -> Any:
    """Check ``value`` for parameter ``key`` and return it in the declared type.

    Raises :class:`ParamError` with the key, the value and the allowed range.
    """
    s = spec(key)
    m = s.meta
    original = value

    def bad(why: str) -> ParamError:
        return ParamError(f"parameter '{key}' = {original!r}: {why}")

    if s.type is bool:
        if not isinstance(value, bool):
            raise bad("expected true or false")
        return value
    if s.type is str:
        if not isinstance(value, str):
            raise bad(f"expected a string, {_range_text(m)}")
        if m.choices and value not in m.choices:
            raise bad(f"expected {_range_text(m)}")
        return value
    if s.type is tuple:
        if not isinstance(value, list | tuple) or not (value or m.may_be_empty):
            raise bad("expected a list of numbers" if m.may_be_empty
                      else "expected a non-empty list of numbers")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise bad("expected a list of numbers")
            fv = float(v)
            if (m.lo is not None and fv < m.lo) or (m.hi is not None and fv > m.hi):
                raise bad(f"element {v!r} out of range, allowed {_range_text(m)}")
            out.append(fv)
        return tuple(out)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(f"expected a number in {_range_text(m)}")
    if s.type is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise bad(f"expected an integer in {_range_text(m)}")
            value = int(value)
    else:
        value = float(value)
    if value != value:  # NaN
        raise bad(f"expected a number in {_range_text(m)}")
    if (m.lo is not None and value < m.lo) or (m.hi is not None and value > m.hi):
        raise bad(f"out of range, allowed {_range_text(m)}")
    return value


def get(params: Params, key: str) -> Any:
    spec(key)
    sec, name = key.split(".", 1)
    return getattr(getattr(params, sec), name)


#: ``(section, field, kernel slot, conversion, choices)`` of every parameter with a kernel slot.
_KERNEL = tuple((s.section, s.name, s.meta.kernel, s.meta.to_kernel, s.meta.choices)
                for s in SPECS.values() if s.meta.kernel is not None)


def kernel_slots() -> dict[str, str]:
    """``{kernel slot: parameter key}`` of every parameter declared with a kernel slot
    (:class:`~hippoviz.params.schema.Meta`)."""
    return {slot: f"{sec}.{name}" for sec, name, slot, _conv, _choices in _KERNEL
            if slot is not None}


def kernel_values(params: Params) -> dict[str, float]:
    """What the simulation kernel's parameter vector holds for ``params``: ``{slot: value}``
    for every parameter declared with a kernel slot, converted by its ``to_kernel`` (default:
    a number or a flag as a float, a choice as its index in ``choices``)."""
    out: dict[str, float] = {}
    for sec, name, slot, conv, choices in _KERNEL:
        assert slot is not None
        value = getattr(getattr(params, sec), name)
        if conv is not None:
            out[slot] = float(conv(value))
        elif choices is not None:
            out[slot] = float(choices.index(value))
        else:
            out[slot] = float(value)
    return out


def replace(params: Params, patch: Mapping[str, Any]) -> Params:
    """A copy of ``params`` with the dotted keys of ``patch`` changed (validated)."""
    by_sec: dict[str, dict[str, Any]] = {}
    for key, value in patch.items():
        v = coerce(key, value)
        sec, name = key.split(".", 1)
        by_sec.setdefault(sec, {})[name] = v
    changes = {sec: dataclasses.replace(getattr(params, sec), **kv) for sec, kv in by_sec.items()}
    return dataclasses.replace(params, **changes)


def to_dict(params: Params) -> dict[str, dict[str, Any]]:
    """Nested plain dict (TOML-ready: tuples become lists)."""
    out: dict[str, dict[str, Any]] = {}
    for s in SPECS.values():
        v = get(params, s.key)
        out.setdefault(s.section, {})[s.name] = list(v) if isinstance(v, tuple) else v
    return out


def flat(params: Params) -> dict[str, Any]:
    return {s.key: get(params, s.key) for s in SPECS.values()}


#: Tables a config file may hold besides parameters: they are read elsewhere (``[nwb]``: the
#: metadata of NWB exports, :func:`hippoviz.record.nwb.load_nwb_metadata`).
OTHER_TABLES = ("nwb",)


def from_dict(data: Mapping[str, Any], base: Params | None = None) -> Params:
    """Params from a nested dict as read from TOML; unknown sections or keys are errors
    (the tables of :data:`OTHER_TABLES` are left to their readers)."""
    patch: dict[str, Any] = {}
    for sec, body in data.items():
        if sec in OTHER_TABLES:
            continue
        if sec not in SECTIONS:
            near = difflib.get_close_matches(sec, SECTIONS, n=1)
            hint = f" (did you mean '[{near[0]}]'?)" if near else ""
            raise ParamError(f"unknown parameter section '[{sec}]'{hint}")
        if not isinstance(body, Mapping):
            raise ParamError(f"'{sec}' must be a table [{sec}], got {body!r}")
        for name, value in body.items():
            patch[f"{sec}.{name}"] = value
    return replace(base or Params(), patch)


def _version(text: str) -> tuple[int, ...]:
    """``"0.3.1"`` as ``(0, 3, 1)`` (a part that is not a number ends it: ``"0.4.0.dev1"``)."""
    out: list[int] = []
    for part in text.split("."):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


def loads(text: str, base: Params | None = None, source: str = "<string>",
          written_by: str | None = None) -> Params:
    """Params from TOML text. ``written_by``: the hippoviz version that wrote it (a recording);
    a parameter that came after that version and that the text does not name takes the value
    the older model behaved as (``Meta.before``), not today's default."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(f"{source}: malformed TOML: {exc}") from None
    try:
        params = from_dict(data, base)
        if written_by is None:
            return params
        old: dict[str, Any] = {}
        for s in iter_specs():
            before = s.meta.before
            if (before is not None and _version(written_by) < _version(before[0])
                    and s.name not in data.get(s.section, {})):
                old[s.key] = before[1]
        return replace(params, old) if old else params
    except ParamError as exc:
        raise ParamError(f"{source}: {exc}") from None


def load(path: str | Path, base: Params | None = None) -> Params:
    """Read a TOML config file; any problem raises :class:`ParamError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamError(f"config file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamError(f"cannot read config file {p}: {exc}") from None
    return loads(text, base, source=str(p))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def dumps(params: Params, comments: bool = True, only_changed: bool = False) -> str:
    """TOML text of ``params`` (with each parameter's doc and unit as a comment)."""
    lines: list[str] = []
    d = to_dict(params)
    for sec in SECTIONS:
        body = []
        for name, v in d[sec].items():
            s = SPECS[f"{sec}.{name}"]
            if only_changed and get(params, s.key) == s.default:
                continue
            if comments:
                unit = f" [{s.meta.unit}]" if s.meta.unit else ""
                body.append(f"# {s.meta.doc}{unit}")
            body.append(f"{name} = {_toml_value(v)}")
        if body:
            lines.append(f"[{sec}]")
            lines.extend(body)
            lines.append("")
    return "\n".join(lines)


def save(params: Params, path: str | Path) -> None:
    """Write ``params`` as TOML atomically (temporary file, then rename)."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(dumps(params), encoding="utf-8")
    tmp.replace(p)


def parse_value(text: str) -> Any:
    """Parse the right-hand side of ``--set key=value`` as a TOML value (bare words as strings)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text and all(c.isalnum() or c in "_-" for c in text):
            return text
        raise ParamError(f"cannot parse value {text!r}") from None


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", ...]`` → ``{"a.b": 1}``; keys are checked, values validated by ``replace``."""
    patch: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ParamError(f"--set expects KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        spec(key)
        try:
            patch[key] = parse_value(text.strip())
        except ParamError as exc:
            raise ParamError(f"--set {key}: {exc}") from None
    return patch


def diff(a: Params, b: Params) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ: ``{key: (a_value, b_value)}``."""
    fa, fb = flat(a), flat(b)
    return {k: (fa[k], fb[k]) for k in fa if fa[k] != fb[k]}


def needs_rebuild(patch: Mapping[str, Any]) -> list[str]:
    """Keys of ``patch`` that cannot be applied live."""
    return [k for k in patch if not spec(k).meta.live]
