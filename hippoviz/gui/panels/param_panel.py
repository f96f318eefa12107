"""The parameter panel, generated from the params schema (pyqtgraph ParameterTree).

Two trees over the same parameters: *Gating* up front (every parameter whose ``meta.gating`` is
True: the back-projection gains, plasticity, theta gating, input gains, sparsity) and *All
parameters*. Live parameters are sent to the simulation at once; rebuild-only ones are marked
``⟳``, collected, and applied by *Apply && rebuild* after a confirmation.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from pyqtgraph.parametertree import Parameter, ParameterTree

from hippoviz import params as P
from hippoviz.runtime import DataSource, Reset, SetParams

#: Groups of the gating tab: title -> key prefixes (in order); other gating keys go to "Other".
GATING_GROUPS: dict[str, tuple[str, ...]] = {
    "Countercurrent error gating": ("learning.g_",),
    "Plasticity": ("learning.enabled", "learning.feedback", "learning.lr_",
                   "learning.plasticity_floor"),
    "Theta gating": ("theta.",),
    "Input gating": ("inputs.gamma_",),
    "Local inhibition (sparsity)": ("network.sparsity_", "network.k_"),
}
REBUILD_MARK = " ⟳"


def tooltip(spec: P.ParamSpec) -> str:
    """Tooltip of a parameter: key, doc, unit, range, live or rebuild."""
    m = spec.meta
    lines = [f"<b>{spec.key}</b>", m.doc]
    if m.unit:
        lines.append(f"Unit: {m.unit}")
    if m.choices:
        lines.append("Choices: " + ", ".join(m.choices))
    elif m.lo is not None or m.hi is not None:
        lines.append(f"Range: [{m.lo if m.lo is not None else '-inf'}, "
                     f"{m.hi if m.hi is not None else 'inf'}]")
    lines.append("Applied live." if m.live else "Needs a rebuild (applied on confirmation).")
    return "<br>".join(lines)


def _opts(spec: P.ParamSpec, value: Any) -> dict[str, Any]:
    """pyqtgraph Parameter options of one spec."""
    m = spec.meta
    title = spec.name + ("" if m.live else REBUILD_MARK)
    # the row's reset button goes back to the schema's default, whatever preset was loaded
    o: dict[str, Any] = {"name": spec.key, "title": title, "tip": tooltip(spec),
                         "default": _to_widget(spec, spec.default)}
    if spec.type is bool:
        o.update(type="bool", value=bool(value))
    elif spec.type is str and m.choices:
        o.update(type="list", limits=list(m.choices), value=value)
    elif spec.type is str:
        o.update(type="str", value=value)
    elif spec.type is tuple:
        o.update(type="str", value=", ".join(f"{v:g}" for v in value))
    else:
        is_int = spec.type is int
        o.update(type="int" if is_int else "float", value=value)
        lims = (m.lo, m.hi)
        if lims != (None, None):
            o["limits"] = lims
        if m.step is not None:
            o["step"] = int(m.step) if is_int else m.step
        if m.unit:
            o["suffix"] = " " + m.unit
        if not is_int:
            o["decimals"] = 4
            o["format"] = "{value:.6g}{suffixGap}{suffix}"
    return o


def _from_widget(spec: P.ParamSpec, value: Any) -> Any:
    """The parameter value of a tree value (tuples are edited as comma-separated text)."""
    if spec.type is tuple:
        parts = [s for s in str(value).replace(";", ",").split(",") if s.strip()]
        try:
            return tuple(float(s) for s in parts)
        except ValueError:
            raise P.ParamError(f"parameter '{spec.key}' = {value!r}: expected numbers "
                               "separated by commas") from None
    return value


def _to_widget(spec: P.ParamSpec, value: Any) -> Any:
    if spec.type is tuple:
        return ", ".join(f"{v:g}" for v in value)
    return value


def mark_default(p: Parameter) -> None:
    """Enable a row's reset button only while its value differs from the default.

    pyqtgraph enables it whenever the value was set since the last reset, which is every row
    once the panel is built, so the buttons would say nothing about what the user changed."""
    if p.valueIsDefault() and p.valueModifiedSinceResetToDefault():
        p.setToDefault()  # the same value: no signal, only the flag
        for item in list(p.items):
            if hasattr(item, "updateDefaultBtn"):
                item.updateDefaultBtn()


def _gating_group(key: str) -> str:
    for title, prefixes in GATING_GROUPS.items():
        if any(key.startswith(p) for p in prefixes):
            return title
    return "Other"


class QtParamPanel(QWidget):
    """Gating panel and full parameter tree of the running simulation.

    Parameters
    ----------
    source : hippoviz.runtime.DataSource
        Where applied parameters come from and where changes go.

    Signals
    -------
    error(str)
        A value could not be accepted (shown by the main window).
    """

    title = "Parameters"
    error = pyqtSignal(str)

    def __init__(self, source: DataSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._applied: P.Params | None = None
        self._pending: dict[str, Any] = {}
        self._syncing = False
        self._params: dict[str, list[Parameter]] = {}
        params = source.params() or P.Params()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        lay.addWidget(self.tabs, 1)

        gating_children: dict[str, list[dict[str, Any]]] = {t: [] for t in GATING_GROUPS}
        all_children: dict[str, list[dict[str, Any]]] = {}
        for spec in P.iter_specs():
            value = P.get(params, spec.key)
            all_children.setdefault(spec.section, []).append(_opts(spec, value))
            if spec.meta.gating:
                gating_children.setdefault(_gating_group(spec.key), []).append(
                    _opts(spec, value))
        self.gating = Parameter.create(name="gating", type="group", children=[
            {"name": t, "type": "group", "children": c} for t, c in gating_children.items() if c])
        self.all = Parameter.create(name="all", type="group", children=[
            {"name": sec, "type": "group", "children": c, "expanded": sec in (
                "learning", "inputs", "arena")}
            for sec, c in all_children.items()])
        self.gating_tree = self._make_tree(self.gating)
        self.all_tree = self._make_tree(self.all)
        self.tabs.addTab(self.gating_tree, "Gating")
        self.tabs.addTab(self.all_tree, "All parameters")

        self.pending_label = QLabel("")
        self.pending_label.setObjectName("hint")
        self.pending_label.setWordWrap(True)
        self.pending_label.setContentsMargins(6, 2, 6, 0)
        lay.addWidget(self.pending_label)
        foot = QHBoxLayout()
        foot.setContentsMargins(4, 0, 4, 4)
        foot.addStretch(1)
        self.revert_btn = QPushButton("Revert")
        self.revert_btn.setToolTip("Forget the rebuild-only changes not applied yet")
        self.revert_btn.clicked.connect(self.revert)
        self.apply_btn = QPushButton("Apply && rebuild…")
        self.apply_btn.setToolTip("Rebuild the simulation with the changed rebuild-only "
                                  "parameters (restarts at t = 0 with the same seed)")
        self.apply_btn.clicked.connect(self.confirm_rebuild)
        foot.addWidget(self.revert_btn)
        foot.addWidget(self.apply_btn)
        lay.addLayout(foot)
        self._update_pending()
        for group in (self.gating, self.all):
            for p in _leaves(group):
                self._params.setdefault(p.name(), []).append(p)
                p.sigValueChanged.connect(self._on_value)
                p.sigValueChanged.connect(mark_default)
                mark_default(p)
        self._applied = params

    def _make_tree(self, group: Parameter) -> ParameterTree:
        tree = ParameterTree(showHeader=False)
        tree.setParameters(group, showTop=False)
        tree.setMinimumWidth(240)
        # the name column carries the tooltip too, not only the editor
        for p in _leaves(group):
            for item in p.items:
                item.setToolTip(0, p.opts.get("tip", ""))
                btn = getattr(item, "defaultBtn", None)
                if btn is not None:
                    btn.setToolTip(f"Back to the default: {p.defaultValue()} (enabled while "
                                   "the value differs from it)")
        tree.header().setStretchLastSection(True)
        # pyqtgraph sizes the names column to its contents; at Qt's default indentation the
        # value column and its reset arrow ran past the Controls dock's width
        tree.setIndentation(8)
        return tree

    def parameter(self, key: str, tree: str = "gating") -> Parameter:
        """The tree parameter of ``key`` (``tree`` = ``"gating"`` or ``"all"``)."""
        ps = self._params[key]
        return ps[0] if tree == "gating" or len(ps) == 1 else ps[1]

    # -- user edits --------------------------------------------------------------------------
    def _on_value(self, param: Parameter, value: Any) -> None:
        if self._syncing:
            return
        key = param.name()
        spec = P.spec(key)
        self._mirror(key, value, exclude=param)
        try:
            v = P.coerce(key, _from_widget(spec, value))
        except P.ParamError as exc:
            self.error.emit(str(exc))
            self._restore(key)
            return
        if spec.meta.live:
            self.source.command(SetParams({key: v}))
        else:
            applied = P.get(self._applied, key) if self._applied is not None else spec.default
            if v == applied:
                self._pending.pop(key, None)
            else:
                self._pending[key] = v
            self._update_pending()

    def _mirror(self, key: str, value: Any, exclude: Parameter | None = None) -> None:
        self._syncing = True
        try:
            for p in self._params.get(key, []):
                if p is not exclude and p.value() != value:
                    p.setValue(value)
        finally:
            self._syncing = False

    def _restore(self, key: str) -> None:
        if self._applied is not None:
            spec = P.spec(key)
            self._mirror(key, _to_widget(spec, self._pending.get(key, P.get(self._applied, key))))

    def _update_pending(self) -> None:
        n = len(self._pending)
        self.apply_btn.setEnabled(n > 0)
        self.revert_btn.setEnabled(n > 0)
        if n:
            keys = ", ".join(k.split(".", 1)[1] for k in self._pending)
            self.pending_label.setText(f"Pending rebuild: {keys}")
        else:
            self.pending_label.setText(f"Changes apply at once; {REBUILD_MARK.strip()} marks "
                                       "those that need a rebuild.")

    def pending(self) -> dict[str, Any]:
        """Rebuild-only changes not applied yet."""
        return dict(self._pending)

    def revert(self) -> None:
        """Forget the pending rebuild-only changes."""
        keys = list(self._pending)
        self._pending.clear()
        for k in keys:
            self._restore(k)
        self._update_pending()

    def confirm_rebuild(self, ask: bool = True) -> bool:
        """Apply the pending rebuild-only changes (after asking, unless ``ask`` is False)."""
        if not self._pending:
            return False
        if ask:
            keys = "\n".join(f"  {k} = {v}" for k, v in self._pending.items())
            answer = QMessageBox.question(
                self, "Rebuild the simulation?",
                f"These parameters need a rebuild:\n{keys}\n\nThe simulation restarts at "
                "t = 0 with the same seed; learned weights are lost.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.source.command(Reset(patch=dict(self._pending)))
        self._pending.clear()
        self._update_pending()
        return True

    # -- sync from the simulation --------------------------------------------------------------
    def refresh(self) -> None:
        """Show parameters changed elsewhere (toolbar, environment, presets, rebuilds)."""
        params = self.source.params()
        if params is None or params is self._applied:
            return
        old = self._applied
        self._applied = params
        changed = P.diff(old, params) if old is not None else {}
        for key, (_a, b) in changed.items():
            if key in self._pending and self._pending[key] == b:
                self._pending.pop(key)
            if key not in self._pending:
                self._mirror(key, _to_widget(P.spec(key), b))
        self._update_pending()

    def resync(self) -> None:
        """Show the applied value of every live parameter again (after a refused edit)."""
        params = self.source.params()
        if params is None:
            return
        self._applied = params
        for spec in P.iter_specs():
            if not spec.meta.live:
                continue
            want = _to_widget(spec, P.get(params, spec.key))
            ps = self._params.get(spec.key, [])
            if ps and ps[0].value() != want:
                self._mirror(spec.key, want)


def _leaves(group: Parameter) -> list[Parameter]:
    out = []
    for c in group.children():
        if c.type() == "group":
            out.extend(_leaves(c))
        else:
            out.append(c)
    return out
