"""Experiment protocols: named phases read from TOML files (see resources/protocols/README.md).

A protocol is a list of phases run one after the other on one simulated rat. Each phase has a
duration in simulated minutes, plasticity on or off, manipulations applied at its start, and
analyses computed at its end. Everything is validated when the file is read, so that a bad
protocol fails at once with one line naming the file, the line, the phase and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hippoviz import params as P
from hippoviz.runtime.commands import (
    SIM_OPS,
    AddObject,
    MoveObject,
    RemoveObject,
    SetParams,
    SetTrajectory,
    SimCommand,
    from_wire,
)

#: Back-projections that a ``lesion`` names, with the gain parameter each one sets to 0.
LESIONS: dict[str, str] = {
    "ec_ca1": "learning.g_ec_ca1",
    "ca1_ca3": "learning.g_ca1_ca3",
    "ca3_dg": "learning.g_ca3_dg",
}

#: Analyses a phase can ask for, and the options each accepts (required ones first).
ANALYSES: dict[str, dict[str, tuple[bool, str]]] = {
    "place_cells": {},
    "remapping": {"reference": (True, "phase"), "control": (False, "phase")},
    "morph": {"reference": (True, "phase"), "phases": (True, "phases"),
              "reference_b": (False, "phase")},
    "stretch": {"reference": (True, "phase"), "label": (False, "label"),
                "axis": (False, "axis")},
    "object": {"reference": (True, "phase"), "at": (True, "xy"), "label": (True, "label"),
               "radius_m": (False, "radius")},
    "mismatch": {"label": (False, "label"), "baseline_s": (False, "seconds"),
                 "smooth_s": (False, "seconds"), "peak_window_s": (False, "seconds")},
    "lesion": {"intact": (True, "phase")},
    "reconstruction": {"seconds": (False, "seconds")},
}

PHASE_KEYS = ("name", "minutes", "learning", "start", "window_minutes", "set", "morph", "room",
              "stretch", "shape", "lesion", "objects", "commands", "analyses")
PROTOCOL_KEYS = ("name", "title", "experiment", "description", "rodent", "citation",
                 "bin_size_m")
TOP_KEYS = ("protocol", "params", "phase")

#: Shortest phase after scaling (steps): one batch of learning and a few spikes.
MIN_PHASE_STEPS = 20


class ProtocolError(P.ParamError):
    """A protocol file that cannot be used; the message is one line naming file, line, key."""


@dataclass(frozen=True)
class AddNamedObject:
    """Add an object that later commands refer to by ``name`` (in slot ``id``, or the first
    free one)."""

    name: str
    x: float
    y: float
    id: int | None = None

    def to_wire(self) -> dict[str, Any]:
        d: dict[str, Any] = {"op": AddObject.op, "name": self.name, "x": self.x, "y": self.y}
        if self.id is not None:
            d["id"] = self.id
        return d


@dataclass(frozen=True)
class MoveNamedObject:
    """Move the object added as ``name`` to ``(x, y)`` metres."""

    name: str
    x: float
    y: float

    def to_wire(self) -> dict[str, Any]:
        return {"op": MoveObject.op, "name": self.name, "x": self.x, "y": self.y}


@dataclass(frozen=True)
class RemoveNamedObject:
    """Take the object added as ``name`` out of the arena."""

    name: str

    def to_wire(self) -> dict[str, Any]:
        return {"op": RemoveObject.op, "name": self.name}


#: What a phase applies at its start: a simulator command, or an object command by name (the id
#: is looked up when it applies).
PhaseCommand = SimCommand | AddNamedObject | MoveNamedObject | RemoveNamedObject


@dataclass(frozen=True)
class Analysis:
    """One analysis computed at the end of its phase."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Phase:
    """One phase of a protocol.

    Attributes
    ----------
    name : str
        Unique name (letters, digits, ``_`` and ``-``).
    minutes : float
        Simulated duration.
    learning : bool
        Plasticity on (``learning.enabled``) during the phase.
    start : str
        ``"continue"`` (default: go on from the previous phase), ``"fresh"`` (a new rat and
        network built from the protocol's parameters and the seed, as at the start) or the name
        of an earlier phase whose final state is restored (a branch).
    commands : tuple of PhaseCommand
        Commands applied at the start, in order (objects may be referred to by ``name``).
    analyses : tuple of Analysis
        Computed at the end of the phase.
    window_minutes : float or None
        Place-cell analysis of the last this-many minutes (default: ``analysis.window_min``,
        at most the phase).
    """

    name: str
    minutes: float
    learning: bool
    start: str = "continue"
    commands: tuple[PhaseCommand, ...] = ()
    analyses: tuple[Analysis, ...] = ()
    window_minutes: float | None = None

    def wants(self, kind: str) -> bool:
        return any(a.kind == kind for a in self.analyses)


@dataclass(frozen=True)
class Protocol:
    """A parsed, validated protocol."""

    name: str
    title: str
    phases: tuple[Phase, ...]
    experiment: int | None = None
    description: str = ""
    rodent: str = ""
    citation: str = ""
    bin_size_m: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    source: str = "<string>"
    sha256: str = ""

    @property
    def minutes(self) -> float:
        return float(sum(p.minutes for p in self.phases))

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def scaled(self, minutes: float) -> Protocol:
        """The same protocol with every phase (and analysis window) scaled so that the whole
        lasts ``minutes`` simulated minutes."""
        if not (minutes > 0 and math.isfinite(minutes)):
            raise ProtocolError(f"--minutes must be positive, got {minutes}")
        f = minutes / self.minutes
        phases = tuple(dataclasses.replace(
            p, minutes=p.minutes * f,
            window_minutes=None if p.window_minutes is None else p.window_minutes * f)
            for p in self.phases)
        return dataclasses.replace(self, phases=phases)

    def referenced(self) -> set[str]:
        """Names of phases whose data a later analysis needs."""
        out: set[str] = set()
        for p in self.phases:
            for a in p.analyses:
                for k, (_, typ) in ANALYSES[a.kind].items():
                    if k in a.options and typ == "phase":
                        out.add(a.options[k])
                    elif k in a.options and typ == "phases":
                        out.update(a.options[k])
                out.add(p.name)
        return out

    def branch_points(self) -> set[str]:
        return {p.start for p in self.phases if p.start not in ("continue", "fresh")}


# ----------------------------------------------------------------------------------------------
class _Locator:
    """Finds the line of a key in the TOML text, for error messages."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        # (table name, array index or -1) -> (header line, {key: line})
        self.tables: dict[tuple[str, int], tuple[int, dict[str, int]]] = {("", -1): (0, {})}
        counts: dict[str, int] = {}
        cur: tuple[str, int] = ("", -1)
        depth = 0
        in_string = False
        for i, line in enumerate(self.lines, 1):
            quotes = line.count('"""') + line.count("'''")
            if in_string:
                in_string = quotes % 2 == 0
                continue
            if quotes % 2 == 1:
                in_string = True
            s = line.split("#", 1)[0] if '"' not in line else line
            if depth == 0:
                m = self._header.match(s)
                if m:
                    name = m.group(2).strip('"')
                    if m.group(1) == "[[":
                        counts[name] = counts.get(name, -1) + 1
                        cur = (name, counts[name])
                    else:
                        cur = (name, -1)
                    self.tables[cur] = (i, {})
                    continue
                km = re.match(r"^\s*(\"[^\"]+\"|[A-Za-z0-9_.\-]+)\s*=", s)
                if km:
                    self.tables[cur][1].setdefault(km.group(1).strip('"'), i)
            depth += s.count("[") + s.count("{") - s.count("]") - s.count("}")
            depth = max(depth, 0)

    def line(self, table: str, index: int = -1, key: str | None = None) -> int | None:
        t = self.tables.get((table, index))
        if t is None:
            return None
        if key is not None and key in t[1]:
            return t[1][key]
        return t[0] or None


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.loc = _Locator(text)

    def error(self, msg: str, table: str = "", index: int = -1, key: str | None = None,
              phase: str | None = None) -> ProtocolError:
        line = self.loc.line(table, index, key)
        where = f"protocol {self.source}"
        if line:
            where += f", line {line}"
        if phase is not None:
            where += f", phase '{phase}'"
        elif table == "phase" and index >= 0:
            where += f", phase {index + 1}"
        elif table:
            where += f", [{table}]"
        if key is not None:
            where += f", key '{key}'"
        return ProtocolError(f"{where}: {msg}")

    # -- helpers
    @staticmethod
    def _unknown(key: str, allowed: tuple[str, ...]) -> str:
        near = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        return f"unknown key{hint}; allowed: {', '.join(allowed)}"

    def parse(self) -> Protocol:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise ProtocolError(f"protocol {self.source}: malformed TOML: {exc}") from None
        for k in data:
            if k not in TOP_KEYS:
                raise self.error(self._unknown(k, TOP_KEYS), table=k if isinstance(
                    data[k], dict) else "", key=None if isinstance(data[k], dict) else k)
        head = data.get("protocol")
        if not isinstance(head, dict):
            raise self.error("missing table [protocol] (with at least name and title)")
        for k in head:
            if k not in PROTOCOL_KEYS:
                raise self.error(self._unknown(k, PROTOCOL_KEYS), "protocol", key=k)
        name = self._str(head, "name", "protocol", required=True)
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            raise self.error(f"must use letters, digits, '_' or '-', got {name!r}", "protocol",
                             key="name")
        title = self._str(head, "title", "protocol", required=True)
        experiment = head.get("experiment")
        if experiment is not None and (isinstance(experiment, bool) or not isinstance(
                experiment, int) or not 1 <= experiment <= 99):
            raise self.error(f"must be an integer (the row of docs/model.md's table), got "
                             f"{experiment!r}", "protocol", key="experiment")
        bin_size = head.get("bin_size_m")
        if bin_size is not None:
            try:
                bin_size = P.coerce("analysis.bin_size_m", bin_size)
            except P.ParamError as exc:
                raise self.error(str(exc).split(": ", 1)[-1], "protocol",
                                 key="bin_size_m") from None
        params = self._params(data.get("params", {}))
        phases_raw = data.get("phase")
        if not isinstance(phases_raw, list) or not phases_raw:
            raise self.error("a protocol needs at least one [[phase]]")
        phases: list[Phase] = []
        for i, raw in enumerate(phases_raw):
            phases.append(self._phase(raw, i, phases))
        return Protocol(
            name=name, title=title, phases=tuple(phases), experiment=experiment,
            description=self._str(head, "description", "protocol"),
            rodent=self._str(head, "rodent", "protocol"),
            citation=self._str(head, "citation", "protocol"),
            bin_size_m=bin_size, params=params, source=self.source,
            sha256=hashlib.sha256(self.text.encode("utf-8")).hexdigest())

    def _str(self, d: dict[str, Any], key: str, table: str, index: int = -1,
             required: bool = False, phase: str | None = None) -> str:
        v = d.get(key)
        if v is None:
            if required:
                raise self.error(f"missing key '{key}'", table, index, phase=phase)
            return ""
        if not isinstance(v, str):
            raise self.error(f"must be a string, got {v!r}", table, index, key, phase)
        return v

    def _params(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.error(f"[params] must be a table, got {raw!r}", key="params")
        flat: dict[str, Any] = {}

        def walk(prefix: str, d: dict[str, Any]) -> None:
            for k, v in d.items():
                key = f"{prefix}.{k}" if prefix else k
                if isinstance(v, dict):
                    walk(key, v)
                else:
                    flat[key] = v

        walk("", raw)
        out: dict[str, Any] = {}
        for key, v in flat.items():
            try:
                out[key] = P.coerce(key, v)
            except P.ParamError as exc:
                raise self.error(str(exc), "params", key=key.split(".")[-1] if (
                    "params", -1) in self.loc.tables and key.split(".")[-1] in
                    self.loc.tables[("params", -1)][1] else key) from None
        return out

    def _phase(self, raw: Any, i: int, earlier: list[Phase]) -> Phase:
        if not isinstance(raw, dict):
            raise self.error("each [[phase]] must be a table", "phase", i)
        for k in raw:
            if k not in PHASE_KEYS:
                raise self.error(self._unknown(k, PHASE_KEYS), "phase", i, k,
                                 raw.get("name") if isinstance(raw.get("name"), str) else None)
        name = self._str(raw, "name", "phase", i, required=True)
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            raise self.error(f"must use letters, digits, '_' or '-', got {name!r}", "phase", i,
                             "name")
        if any(p.name == name for p in earlier):
            raise self.error(f"duplicate phase name '{name}'", "phase", i, "name")
        names = [p.name for p in earlier]

        def err(msg: str, key: str | None = None) -> ProtocolError:
            return self.error(msg, "phase", i, key, name)

        minutes = raw.get("minutes")
        if minutes is None:
            raise err("missing key 'minutes' (the phase's duration in simulated minutes)")
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not (
                minutes > 0 and math.isfinite(minutes)):
            raise err(f"must be a positive number of minutes, got {minutes!r}", "minutes")
        learning = raw.get("learning")
        if learning is None:
            raise err("missing key 'learning' (true or false)")
        if not isinstance(learning, bool):
            raise err(f"must be true or false, got {learning!r}", "learning")
        start = raw.get("start", "continue")
        if not isinstance(start, str) or (start not in ("continue", "fresh")
                                          and start not in names):
            raise err(f"must be 'continue', 'fresh' or the name of an earlier phase "
                      f"({', '.join(names) or 'none yet'}), got {start!r}", "start")
        if i == 0 and start != "continue" and start != "fresh":
            raise err("the first phase cannot branch", "start")
        window = raw.get("window_minutes")
        if window is not None and (isinstance(window, bool) or not isinstance(
                window, int | float) or not window > 0):
            raise err(f"must be a positive number of minutes, got {window!r}", "window_minutes")

        cmds: list[PhaseCommand] = []
        patch: dict[str, Any] = {}

        def put(key: str, value: Any, src: str) -> None:
            try:
                s = P.spec(key)
                v = P.coerce(key, value)
            except P.ParamError as exc:
                raise err(str(exc), src) from None
            if not s.meta.live:
                raise err(f"parameter '{key}' needs a rebuild and cannot change during a "
                          f"protocol; set it in [params]", src)
            patch[key] = v

        sets = raw.get("set", {})
        if not isinstance(sets, dict):
            raise err(f"must be a table of parameter = value, got {sets!r}", "set")
        flat: dict[str, Any] = {}

        def walk(prefix: str, d: dict[str, Any]) -> None:
            for k, v in d.items():
                key = f"{prefix}.{k}" if prefix else k
                if isinstance(v, dict):
                    walk(key, v)
                else:
                    flat[key] = v

        walk("", sets)
        for k, v in flat.items():
            put(k, v, "set")
        if "morph" in raw:
            put("inputs.context_morph", raw["morph"], "morph")
        if "room" in raw:
            put("inputs.room", raw["room"], "room")
        if "shape" in raw:
            put("arena.shape_morph", raw["shape"], "shape")
        if "stretch" in raw:
            st = raw["stretch"]
            if not (isinstance(st, list) and len(st) == 2):
                raise err(f"must be [width_m, height_m], got {st!r}", "stretch")
            put("arena.width_m", st[0], "stretch")
            put("arena.height_m", st[1], "stretch")
        if "lesion" in raw:
            les = raw["lesion"]
            les = [les] if isinstance(les, str) else les
            if not isinstance(les, list) or not all(isinstance(x, str) for x in les):
                raise err(f"must be a back-projection name or a list of them "
                          f"({', '.join(LESIONS)}), got {raw['lesion']!r}", "lesion")
            for x in les:
                if x not in LESIONS:
                    raise err(f"unknown back-projection {x!r} (one of {', '.join(LESIONS)})",
                              "lesion")
                put(LESIONS[x], 0.0, "lesion")
        if patch:
            cmds.append(SetParams(patch))
        cmds.extend(self._objects(raw.get("objects", []), err))
        raw_cmds = raw.get("commands", [])
        if not isinstance(raw_cmds, list):
            raise err("must be a list of simulator commands", "commands")
        for c in raw_cmds:
            cmds.append(self._command(c, err))
        analyses = tuple(self._analysis(a, err, [*names, name])
                         for a in self._list(raw.get("analyses", []), err))
        return Phase(name=name, minutes=float(minutes), learning=learning, start=start,
                     commands=tuple(cmds), analyses=analyses,
                     window_minutes=None if window is None else float(window))

    @staticmethod
    def _list(v: Any, err: Any) -> list[Any]:
        if not isinstance(v, list):
            raise err(f"must be a list, got {v!r}", "analyses")
        return v

    @staticmethod
    def _xy(v: Any) -> bool:
        return (isinstance(v, list) and len(v) == 2 and all(
            isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
            for c in v))

    def _objects(self, raw: Any, err: Any) -> list[PhaseCommand]:
        if not isinstance(raw, list):
            raise err("must be a list of {add = NAME, at = [x, y]}, {move = NAME, to = [x, y]} "
                      "or {remove = NAME}", "objects")
        out: list[PhaseCommand] = []
        for o in raw:
            if not isinstance(o, dict):
                raise err(f"each entry must be a table, got {o!r}", "objects")
            if "add" in o:
                if set(o) - {"add", "at"} or not isinstance(o["add"], str) or not self._xy(
                        o.get("at")):
                    raise err(f"expected {{add = NAME, at = [x, y]}}, got {o!r}", "objects")
                out.append(AddNamedObject(o["add"], float(o["at"][0]), float(o["at"][1])))
            elif "move" in o:
                if set(o) - {"move", "to"} or not isinstance(o["move"], str) or not self._xy(
                        o.get("to")):
                    raise err(f"expected {{move = NAME, to = [x, y]}}, got {o!r}", "objects")
                out.append(MoveNamedObject(o["move"], float(o["to"][0]), float(o["to"][1])))
            elif "remove" in o:
                if set(o) - {"remove"} or not isinstance(o["remove"], str):
                    raise err(f"expected {{remove = NAME}}, got {o!r}", "objects")
                out.append(RemoveNamedObject(o["remove"]))
            else:
                raise err(f"an object entry needs 'add', 'move' or 'remove', got {o!r}",
                          "objects")
        return out

    def _command(self, c: Any, err: Any) -> PhaseCommand:
        ops = tuple(op for op in SIM_OPS if op != SetTrajectory.op)
        if not isinstance(c, dict) or "op" not in c:
            raise err(f"a command is a table with an 'op' ({', '.join(ops)}), got {c!r}",
                      "commands")
        op = c["op"]
        if op not in ops:
            raise err(f"unknown command op {op!r} (one of {', '.join(ops)})", "commands")
        if op == SetParams.op:
            patch = c.get("patch")
            if not isinstance(patch, dict) or not patch:
                raise err("command 'set' needs a non-empty 'patch' table", "commands")
            for k, v in patch.items():
                try:
                    P.coerce(k, v)
                except P.ParamError as exc:
                    raise err(str(exc), "commands") from None
                if not P.spec(k).meta.live:
                    raise err(f"parameter '{k}' needs a rebuild; set it in [params]",
                              "commands")
        elif op in (AddObject.op, MoveObject.op):
            if not self._xy([c.get("x"), c.get("y")]):
                raise err(f"command '{op}' needs numeric 'x' and 'y'", "commands")
        if op in (MoveObject.op, RemoveObject.op) and "name" not in c and "id" not in c:
            raise err(f"command '{op}' needs an object 'name' or 'id'", "commands")
        name = c.get("name")
        if name is not None and not isinstance(name, str):
            raise err(f"an object 'name' must be text, got {name!r}", "commands")
        try:
            if name is not None and op == AddObject.op:
                oid = c.get("id")
                return AddNamedObject(name, float(c["x"]), float(c["y"]),
                                      None if oid is None else int(oid))
            if name is not None and op == MoveObject.op:
                return MoveNamedObject(name, float(c["x"]), float(c["y"]))
            if name is not None and op == RemoveObject.op:
                return RemoveNamedObject(name)
            return from_wire({k: v for k, v in c.items() if k != "name"})
        except (P.ParamError, TypeError, ValueError) as exc:
            raise err(str(exc), "commands") from None

    def _analysis(self, a: Any, err: Any, names: list[str]) -> Analysis:
        if isinstance(a, str):
            a = {"kind": a}
        if not isinstance(a, dict) or "kind" not in a:
            raise err(f"an analysis is a kind name or a table with 'kind' "
                      f"({', '.join(ANALYSES)}), got {a!r}", "analyses")
        kind = a["kind"]
        if kind not in ANALYSES:
            near = difflib.get_close_matches(str(kind), list(ANALYSES), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise err(f"unknown analysis kind {kind!r}{hint}; one of {', '.join(ANALYSES)}",
                      "analyses")
        spec = ANALYSES[kind]
        opts = {k: v for k, v in a.items() if k != "kind"}
        for k in opts:
            if k not in spec:
                allowed = ", ".join(spec) or "none"
                raise err(f"analysis '{kind}' has no option {k!r} (options: {allowed})",
                          "analyses")
        for k, (required, typ) in spec.items():
            if k not in opts:
                if required:
                    raise err(f"analysis '{kind}' needs '{k}'", "analyses")
                continue
            v = opts[k]
            earlier = names[:-1]
            if typ == "phase":
                if not isinstance(v, str) or v not in earlier:
                    raise err(f"analysis '{kind}': {k} must name an earlier phase "
                              f"({', '.join(earlier) or 'none'}), got {v!r}", "analyses")
            elif typ == "phases":
                if not isinstance(v, list) or not v or not all(
                        isinstance(x, str) and x in names for x in v):
                    raise err(f"analysis '{kind}': {k} must be a list of phases up to this "
                              f"one ({', '.join(names)}), got {v!r}", "analyses")
            elif typ == "xy":
                if not self._xy(v):
                    raise err(f"analysis '{kind}': {k} must be [x, y] in metres, got {v!r}",
                              "analyses")
            elif typ == "label":
                if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", v):
                    raise err(f"analysis '{kind}': {k} must be a name, got {v!r}", "analyses")
            elif typ == "axis" and v not in ("x", "y"):
                raise err(f"analysis '{kind}': {k} must be \"x\" or \"y\", got {v!r}",
                          "analyses")
            elif typ in ("radius", "seconds") and (isinstance(v, bool) or not isinstance(
                    v, int | float) or not v > 0):
                raise err(f"analysis '{kind}': {k} must be a positive number, got {v!r}",
                          "analyses")
        return Analysis(kind=kind, options=opts)


def loads(text: str, source: str = "<string>") -> Protocol:
    """Parse and validate a protocol from TOML text (:class:`ProtocolError` if bad)."""
    proto = _Parser(text, source).parse()
    _check_outputs(proto)
    return proto


def load(path: str | Path) -> Protocol:
    """Read a protocol file (:class:`ProtocolError`, naming the file, if it cannot be used)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"protocol file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"cannot read protocol file {p}: {exc}") from None
    return loads(text, source=str(p))


def _check_outputs(proto: Protocol) -> None:
    """Two analyses may not write the same result."""
    seen: dict[str, str] = {}
    for ph in proto.phases:
        for a in ph.analyses:
            if a.kind in ("place_cells", "lesion"):
                continue
            if a.kind == "object":
                key = f"objects.{a.options['label']}"
            elif a.kind == "mismatch":
                key = str(a.options.get("label", "mismatch"))
            elif a.kind == "stretch":
                key = "stretch." + str(a.options.get("label", ""))
            else:
                key = a.kind
            if key in seen:
                raise ProtocolError(
                    f"protocol {proto.source}, phase '{ph.name}', key 'analyses': a second "
                    f"'{a.kind}' analysis would overwrite the result of phase '{seen[key]}'"
                    + ("; give it another 'label'" if a.kind in ("object", "mismatch", "stretch")
                       else ""))
            seen[key] = ph.name


# ----------------------------------------------------------------------------------------------
def protocols_dir() -> Path:
    from hippoviz.resources import resource

    return resource("protocols")


def builtin_names() -> list[str]:
    """Names of the built-in protocols, in the order of docs/model.md's table."""
    d = protocols_dir()
    items = []
    for f in d.glob("*.toml"):
        try:
            with f.open("rb") as fh:
                exp = tomllib.load(fh).get("protocol", {}).get("experiment", 99)
        except (OSError, tomllib.TOMLDecodeError):
            exp = 99
        items.append((exp if isinstance(exp, int) else 99, f.stem))
    return [n for _, n in sorted(items)]


def resolve(name: str) -> Protocol:
    """A built-in protocol by name, or a protocol file by path."""
    builtin = protocols_dir() / f"{name}.toml"
    if "/" not in name and "\\" not in name and not name.endswith(".toml"):
        if builtin.is_file():
            return load(builtin)
        names = builtin_names()
        near = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise ProtocolError(f"unknown experiment '{name}'{hint}; built-in: {', '.join(names)}; "
                            f"or give the path of a protocol .toml file")
    return load(name)
