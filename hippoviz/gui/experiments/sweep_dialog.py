"""Experiments ▸ Sweep…: build a parameter grid, run it on Dask in the background and watch a
heatmap fill as the runs finish.

The dialog builds the same :class:`~hippoviz.experiments.grid_sweep.SweepDefinition` as
``hippoviz sweep`` (one or two swept parameters, chosen from the parameter tree), and a
background thread (``hippoviz-sweep``) runs :func:`~hippoviz.experiments.grid_sweep.run_grid`
on a local Dask cluster: the GUI thread only polls a queue of finished runs. Each run is written
to the output folder as it finishes, so Cancel leaves a folder that Run resumes (with the same
settings); at the end the folder also gets ``table.csv`` and the heatmap figures, as from the
command line. Clicking a cell asks (:attr:`QtSweepDialog.openRequested`) to open that point's
parameters and seed as a new live run.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.grid import check_points, format_value, parse_grid
from hippoviz.experiments.grid_sweep import (
    RunRecord,
    SweepDefinition,
    SweepOutcome,
    SweepStore,
    aggregate_metric,
    flatten,
    run_grid,
)
from hippoviz.experiments.sweep import available_cores, parse_seeds

#: Swept parameters the dialog draws (the command line takes more).
MAX_KEYS = 2
MEAN = "mean over seeds"
SD = "sd over seeds"
NAN_COLOUR = QtGui.QColor("#5a5a5a")


def _viridis(x: NDArray[np.float64]) -> NDArray[np.uint8]:
    """RGB (0..255) of ``x`` in [0, 1] on matplotlib's viridis."""
    from matplotlib import colormaps

    rgba = colormaps["viridis"](np.clip(x, 0.0, 1.0))
    return np.asarray(np.round(rgba[..., :3] * 255), np.uint8)


class QtSweepHeatmap(QtWidgets.QWidget):
    """A grid of coloured cells with labelled axes and a colour bar; NaN cells are grey.

    ``cellClicked(row, col)`` is emitted when a cell is clicked (row along the first swept
    parameter, drawn bottom to top; column along the second)."""

    cellClicked = QtCore.pyqtSignal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: NDArray[np.float64] = np.full((1, 1), np.nan)
        self.row_labels: list[str] = [""]
        self.col_labels: list[str] = [""]
        self.row_title = ""
        self.col_title = ""
        self.setMinimumSize(360, 280)
        self.setMouseTracking(True)

    def set_data(self, values: NDArray[np.float64], row_labels: list[str],
                 col_labels: list[str], row_title: str, col_title: str) -> None:
        self.values = np.asarray(values, np.float64)
        self.row_labels, self.col_labels = row_labels, col_labels
        self.row_title, self.col_title = row_title, col_title
        self.update()

    def _plot_rect(self) -> QtCore.QRectF:
        fm = self.fontMetrics()
        left = 14 + fm.height() + max((fm.horizontalAdvance(s) for s in self.row_labels),
                                      default=0)
        bottom = 12 + 2 * fm.height()
        right = 90
        return QtCore.QRectF(left, 10, max(10, self.width() - left - right),
                             max(10, self.height() - 10 - bottom))

    def cell_at(self, pos: QtCore.QPointF) -> tuple[int, int] | None:
        r = self._plot_rect()
        if not r.contains(pos):
            return None
        n_rows, n_cols = self.values.shape
        col = int((pos.x() - r.left()) / r.width() * n_cols)
        row = n_rows - 1 - int((pos.y() - r.top()) / r.height() * n_rows)
        if 0 <= row < n_rows and 0 <= col < n_cols:
            return row, col
        return None

    def cell_centre(self, row: int, col: int) -> QtCore.QPoint:
        r = self._plot_rect()
        n_rows, n_cols = self.values.shape
        x = r.left() + (col + 0.5) * r.width() / n_cols
        y = r.top() + (n_rows - 1 - row + 0.5) * r.height() / n_rows
        return QtCore.QPoint(round(x), round(y))

    def limits(self) -> tuple[float, float]:
        finite = self.values[np.isfinite(self.values)]
        if not finite.size:
            return 0.0, 1.0
        return float(finite.min()), float(finite.max())

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        p = QtGui.QPainter(self)
        pal = self.palette()
        text = pal.color(QtGui.QPalette.ColorRole.WindowText)
        p.fillRect(self.rect(), pal.color(QtGui.QPalette.ColorRole.Base))
        r = self._plot_rect()
        n_rows, n_cols = self.values.shape
        lo, hi = self.limits()
        span = hi - lo
        norm = (self.values - lo) / span if span > 0 else np.full_like(self.values, 0.5)
        rgb = _viridis(np.nan_to_num(norm, nan=0.0))
        cw, ch = r.width() / n_cols, r.height() / n_rows
        fm = self.fontMetrics()
        for i in range(n_rows):
            for j in range(n_cols):
                cell = QtCore.QRectF(r.left() + j * cw, r.top() + (n_rows - 1 - i) * ch, cw, ch)
                v = self.values[i, j]
                colour = (QtGui.QColor(*(int(c) for c in rgb[i, j])) if math.isfinite(v)
                          else NAN_COLOUR)
                p.fillRect(cell, colour)
                if math.isfinite(v) and cw > 36 and ch > fm.height():
                    p.setPen(QtGui.QColor("black") if colour.lightness() > 128
                             else QtGui.QColor("white"))
                    p.drawText(cell, QtCore.Qt.AlignmentFlag.AlignCenter, f"{v:.3g}")
        p.setPen(text)
        for i, lab in enumerate(self.row_labels[:n_rows]):
            y = r.top() + (n_rows - 1 - i + 0.5) * ch
            p.drawText(QtCore.QRectF(0, y - fm.height(), r.left() - 6, 2 * fm.height()),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                       lab)
        for j, lab in enumerate(self.col_labels[:n_cols]):
            x = r.left() + (j + 0.5) * cw
            p.drawText(QtCore.QRectF(x - cw / 2, r.bottom() + 4, cw, fm.height()),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, lab)
        p.drawText(QtCore.QRectF(r.left(), r.bottom() + 6 + fm.height(), r.width(),
                                 fm.height()), QtCore.Qt.AlignmentFlag.AlignHCenter,
                   self.col_title)
        if self.row_title:
            p.save()
            p.translate(fm.height() * 0.2, r.center().y())
            p.rotate(-90)
            p.drawText(QtCore.QRectF(-r.height() / 2, 0, r.height(), fm.height()),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, self.row_title)
            p.restore()
        # colour bar
        bar = QtCore.QRectF(r.right() + 14, r.top(), 14, r.height())
        steps = 64
        ramp = _viridis(np.linspace(1.0, 0.0, steps))
        for k in range(steps):
            p.fillRect(QtCore.QRectF(bar.left(), bar.top() + k * bar.height() / steps,
                                     bar.width(), bar.height() / steps + 1),
                       QtGui.QColor(*(int(c) for c in ramp[k])))
        p.setPen(text)
        p.drawText(QtCore.QPointF(bar.right() + 4, bar.top() + fm.ascent()), f"{hi:.3g}")
        p.drawText(QtCore.QPointF(bar.right() + 4, bar.bottom()), f"{lo:.3g}")
        p.end()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent | None) -> None:
        if event is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            cell = self.cell_at(event.position())
            if cell is not None:
                self.cellClicked.emit(*cell)
        super().mouseReleaseEvent(event)


@dataclass
class _Done:
    outcome: SweepOutcome | None
    files: list[str]
    error: str | None = None


class QtSweepDialog(QtWidgets.QDialog):
    """Experiments ▸ Sweep… (see the module notes).

    Parameters
    ----------
    preset : str
        The preset selected at first (the app's).
    out_root : path
        Where the default output folder is made (``sweep-YYYYmmdd-HHMMSS`` inside it).

    Signals
    -------
    openRequested(object, int, str)
        A cell was clicked: the point's full :class:`~hippoviz.params.Params`, the seed and a
        short label of the point.
    finished(str)
        The sweep ended (all runs done); the output folder.
    """

    openRequested = QtCore.pyqtSignal(object, int, str)
    finished = QtCore.pyqtSignal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, preset: str = "default",
                 out_root: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Parameter sweep")
        self.setObjectName("sweep_dialog")
        self.out_root = Path(out_root) if out_root is not None else (
            Path.home() / "hippoviz-sweeps")
        self.definition: SweepDefinition | None = None
        self.records: dict[tuple[int, int], RunRecord] = {}
        self.total = 0
        self.state = "idle"  # idle, running, cancelling, done, cancelled, failed
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue[RunRecord | _Done] = queue.SimpleQueue()
        self._metrics: list[str] = []
        self._build(preset)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._poll)

    # -- the form --------------------------------------------------------------------------------
    def _build(self, preset: str) -> None:
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Parameter", "Range", "Default"])
        self.tree.setMinimumWidth(330)
        self.tree.setColumnWidth(0, 170)
        for sec in P.SECTIONS:
            top = QtWidgets.QTreeWidgetItem([sec])
            top.setFlags(top.flags() & ~QtCore.Qt.ItemFlag.ItemIsSelectable)
            for s in P.iter_specs():
                if s.section != sec or s.type is tuple:
                    continue
                m = s.meta
                if m.choices:
                    rng = ", ".join(m.choices)
                elif s.type is bool:
                    rng = "true, false"
                else:
                    rng = (f"{'-inf' if m.lo is None else f'{m.lo:g}'} .. "
                           f"{'inf' if m.hi is None else f'{m.hi:g}'}")
                item = QtWidgets.QTreeWidgetItem([s.name, rng, format_value(s.default)])
                item.setData(0, QtCore.Qt.ItemDataRole.UserRole, s.key)
                item.setToolTip(0, f"{s.key}: {m.doc}")
                top.addChild(item)
            if top.childCount():
                self.tree.addTopLevelItem(top)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.add_parameter(
            item.data(0, QtCore.Qt.ItemDataRole.UserRole)))
        add = QtWidgets.QPushButton("Add to grid ▸")
        add.clicked.connect(self._add_selected)

        self.grid_table = QtWidgets.QTableWidget(0, 2)
        self.grid_table.setHorizontalHeaderLabels(["Parameter", "Values (A:B:N or a,b,c)"])
        hh = self.grid_table.horizontalHeader()
        assert hh is not None
        hh.setStretchLastSection(True)
        hh.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.grid_table.setMaximumHeight(110)
        remove = QtWidgets.QPushButton("Remove")
        remove.clicked.connect(self._remove_selected)

        self.seeds_edit = QtWidgets.QLineEdit("1-2")
        self.run_radio = QtWidgets.QRadioButton("Plain runs (as hippoviz run)")
        self.protocol_radio = QtWidgets.QRadioButton("Protocol")
        self.run_radio.setChecked(True)
        self.protocol_box = QtWidgets.QComboBox()
        self.protocol_box.addItems(PR.builtin_names())
        self.minutes_spin = QtWidgets.QDoubleSpinBox()
        self.minutes_spin.setRange(0.05, 10000.0)
        self.minutes_spin.setDecimals(2)
        self.minutes_spin.setValue(1.0)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setToolTip("Simulated minutes of each plain run; a protocol is "
                                     "scaled to last this long")
        self.preset_box = QtWidgets.QComboBox()
        self.preset_box.addItems(list(P.PRESETS))
        self.preset_box.setCurrentText(preset)
        self.workers_spin = QtWidgets.QSpinBox()
        self.workers_spin.setRange(1, max(1, available_cores()))
        self.workers_spin.setValue(max(1, available_cores()))
        self.out_edit = QtWidgets.QLineEdit(
            str(self.out_root / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"))
        browse = QtWidgets.QPushButton("…")
        browse.clicked.connect(self._browse)

        form = QtWidgets.QFormLayout()
        form.addRow("Seeds", self.seeds_edit)
        mode = QtWidgets.QHBoxLayout()
        mode.addWidget(self.run_radio)
        mode.addWidget(self.protocol_radio)
        mode.addWidget(self.protocol_box)
        form.addRow("Each run", mode)
        form.addRow("Length", self.minutes_spin)
        form.addRow("Preset", self.preset_box)
        form.addRow("Workers", self.workers_spin)
        out_row = QtWidgets.QHBoxLayout()
        out_row.addWidget(self.out_edit)
        out_row.addWidget(browse)
        form.addRow("Folder", out_row)

        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setFormat("no sweep yet")  # "%v / %m runs" once a sweep starts
        self.progress.setValue(0)
        self.status = QtWidgets.QLabel("Choose one or two parameters (double-click), their "
                                       "values, and Run.")
        self.status.setWordWrap(True)

        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.tree, 1)
        left.addWidget(add)
        left.addWidget(self.grid_table)
        left.addWidget(remove)
        left.addLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left.addLayout(buttons)

        self.metric_box = QtWidgets.QComboBox()
        self.metric_box.setMinimumContentsLength(28)
        self.metric_box.currentTextChanged.connect(lambda _t: self.redraw())
        self.show_box = QtWidgets.QComboBox()
        self.show_box.addItems([MEAN, SD])
        self.show_box.currentTextChanged.connect(lambda _t: self.redraw())
        self.heatmap = QtSweepHeatmap()
        self.heatmap.cellClicked.connect(self._cell_clicked)
        self.hint = QtWidgets.QLabel("Click a cell to open that point as a live run (with "
                                     "the seed shown, or the first seed).")
        self.hint.setWordWrap(True)
        right = QtWidgets.QVBoxLayout()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Metric"))
        top.addWidget(self.metric_box, 1)
        top.addWidget(self.show_box)
        right.addLayout(top)
        right.addWidget(self.heatmap, 1)
        right.addWidget(self.hint)
        right.addWidget(self.progress)
        right.addWidget(self.status)

        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)
        self.resize(1100, 680)

    def add_parameter(self, key: str | None, values: str | None = None) -> bool:
        """Add ``key`` to the grid (its whole range in three values, by default)."""
        if not key:
            return False
        keys = self.grid_keys()
        if key in keys:
            return False
        if len(keys) >= MAX_KEYS:
            self._say(f"The dialog sweeps at most {MAX_KEYS} parameters (hippoviz sweep takes "
                      f"more).", error=True)
            return False
        s = P.spec(key)
        if values is None:
            m = s.meta
            if m.choices:
                values = ",".join(m.choices)
            elif s.type is bool:
                values = "false,true"
            elif m.lo is not None and m.hi is not None:
                values = f"{m.lo:g}:{m.hi:g}:3"
            else:
                values = format_value(s.default)
        row = self.grid_table.rowCount()
        self.grid_table.insertRow(row)
        item = QtWidgets.QTableWidgetItem(key)
        item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
        self.grid_table.setItem(row, 0, item)
        self.grid_table.setItem(row, 1, QtWidgets.QTableWidgetItem(values))
        return True

    def grid_keys(self) -> list[str]:
        out = []
        for r in range(self.grid_table.rowCount()):
            it = self.grid_table.item(r, 0)
            if it is not None:
                out.append(it.text())
        return out

    def grid_specs(self) -> list[str]:
        out = []
        for r in range(self.grid_table.rowCount()):
            k, v = self.grid_table.item(r, 0), self.grid_table.item(r, 1)
            out.append(f"{k.text() if k else ''}={v.text() if v else ''}")
        return out

    def _add_selected(self) -> None:
        for item in self.tree.selectedItems():
            self.add_parameter(item.data(0, QtCore.Qt.ItemDataRole.UserRole))

    def _remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.grid_table.selectedIndexes()}, reverse=True)
        for r in rows or [self.grid_table.rowCount() - 1]:
            if r >= 0:
                self.grid_table.removeRow(r)

    def _browse(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Sweep folder",
                                                          str(self.out_root))
        if path:
            self.out_edit.setText(path)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        pal = self.status.palette()
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor("#e45756") if error
                     else self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        self.status.setPalette(pal)

    def build_definition(self) -> SweepDefinition:
        """The sweep the form describes; bad input raises :class:`~hippoviz.params.ParamError`
        (one line)."""
        axes = parse_grid(self.grid_specs())
        seeds = tuple(parse_seeds(self.seeds_edit.text()))
        preset = self.preset_box.currentText()
        base = P.load_preset(preset)
        minutes = float(self.minutes_spin.value())
        protocol = None
        if self.protocol_radio.isChecked():
            protocol = PR.resolve(self.protocol_box.currentText()).scaled(minutes)
            check_points(P.replace(base, protocol.params) if protocol.params else base, axes)
        else:
            check_points(base, axes)
        return SweepDefinition(axes, seeds, base, {}, minutes=minutes, protocol=protocol,
                               preset=preset)

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Check the form and start the sweep in the background (resuming the folder's runs)."""
        if self.running:
            return False
        try:
            d = self.build_definition()
            store = SweepStore(Path(self.out_edit.text()).expanduser(), d)
            store.check()
        except P.ParamError as exc:
            self._say(str(exc), error=True)
            return False
        self.definition = d
        self.records = {}
        self.total = len(d.runs())
        self.progress.setRange(0, self.total)
        self.progress.setFormat("%v / %m runs")
        self.progress.setValue(0)
        self._stop.clear()
        self._queue = queue.SimpleQueue()
        self.state = "running"
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._say(f"Running {d.describe()} into {store.out} …")
        self.redraw()
        n_workers = int(self.workers_spin.value())
        self._thread = threading.Thread(target=self._work, args=(store, n_workers),
                                        name="hippoviz-sweep", daemon=True)
        self._thread.start()
        self._timer.start()
        return True

    def _work(self, store: SweepStore, n_workers: int) -> None:
        """The background thread: the runs on Dask, then the table and heatmap files."""
        from hippoviz.experiments.sweep_cli import write_outputs

        q = self._queue
        try:
            outcome = run_grid(store, n_workers=n_workers, should_stop=self._stop.is_set,
                               on_result=lambda rec, _d, _n: q.put(rec))
            files: list[str] = []
            finished = list(store.finished().values())
            if not outcome.cancelled and finished:
                files, _note = write_outputs(store.definition, store.out, finished, None)
            q.put(_Done(outcome, files))
        except Exception as exc:  # a failed run or cluster: say so in the dialog
            traceback.print_exc()
            q.put(_Done(None, [], f"{type(exc).__name__}: {exc}"))

    def _poll(self) -> None:
        changed = False
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, RunRecord):
                self.records[(item.point, item.seed)] = item
                changed = True
                if not self._metrics:
                    self._set_metrics(list(flatten(item.metrics)))
            else:
                self._finish(item)
        if changed:
            self.progress.setValue(len(self.records))
            self.redraw()

    def _set_metrics(self, columns: list[str]) -> None:
        d = self.definition
        assert d is not None
        cols = [c for c in columns if c != "seed"]
        self._metrics = cols
        preferred = ("reconstruction_error.final" if d.protocol is None
                     else f"phases.{d.protocol.phases[-1].name}.mismatch_mean")
        self.metric_box.blockSignals(True)
        self.metric_box.clear()
        self.metric_box.addItems(cols)
        if preferred in cols:
            self.metric_box.setCurrentText(preferred)
        self.metric_box.blockSignals(False)
        self.show_box.blockSignals(True)
        self.show_box.clear()
        self.show_box.addItems([MEAN, SD, *(f"seed {s}" for s in d.seeds)])
        self.show_box.blockSignals(False)

    def _finish(self, done: _Done) -> None:
        self._timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        out = self.out_edit.text()
        if done.error is not None:
            self.state = "failed"
            why = done.error.rstrip(".")
            self._say(f"The sweep failed: {why}. The finished runs are kept in {out}; Run "
                      f"resumes it.", error=True)
            return
        assert done.outcome is not None
        if done.outcome.cancelled:
            self.state = "cancelled"
            self._say(f"Cancelled: {done.outcome.done} of {done.outcome.total} runs are in "
                      f"{out}; Run with the same settings resumes the sweep.")
            return
        self.state = "done"
        failed = done.outcome.failed
        if failed:
            f = failed[0]
            self._say(f"Done, but {len(failed)} of {done.outcome.total} runs failed (their "
                      f"cells stay grey; first: seed {f.seed} at "
                      f"{', '.join(f'{k}={v}' for k, v in f.values.items())}: {f.error}). "
                      f"{out}/failed/ says why; Run retries them.", error=True)
        else:
            self._say(f"Done: {done.outcome.total} runs ({done.outcome.computed} computed now) "
                      f"in {out}: {', '.join(done.files)}.")
        self.finished.emit(out)

    def cancel(self) -> None:
        """Stop the sweep: the runs not yet finished are cancelled; the folder stays
        resumable."""
        if self.running:
            self._stop.set()
            self.state = "cancelling"
            self.cancel_button.setEnabled(False)
            self._say("Cancelling (the finished runs are kept) …")

    def shutdown(self, timeout: float = 60.0) -> None:
        """Cancel and wait for the background thread (closing the dialog or the app)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._poll()
        self._timer.stop()

    def closeEvent(self, event: QtGui.QCloseEvent | None) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- the heatmap -----------------------------------------------------------------------------
    def current_values(self) -> NDArray[np.float64]:
        """What the heatmap shows: rows along the first swept parameter, columns along the
        second (one column for one parameter)."""
        d = self.definition
        metric = self.metric_box.currentText()
        if d is None or not metric:
            return np.full((1, 1), np.nan)
        shape = (len(d.axes[0].values), len(d.axes[1].values) if len(d.axes) > 1 else 1)
        show = self.show_box.currentText()
        if show.startswith("seed "):
            seed = int(show.split()[1])
            vals = np.full(len(d.points()), np.nan)
            for (i, s), rec in self.records.items():
                if s == seed:
                    v = flatten(rec.metrics).get(metric)
                    if isinstance(v, int | float):
                        vals[i] = float(v)
            return vals.reshape(shape)
        rows = [{**r.values, metric: flatten(r.metrics).get(metric)}
                for r in self.records.values()]
        mean, sd, _n = aggregate_metric(d, rows, metric)
        return np.asarray(sd if show == SD else mean, np.float64).reshape(shape)

    def redraw(self) -> None:
        d = self.definition
        if d is None:
            return
        ya = d.axes[0]
        xa = d.axes[1] if len(d.axes) > 1 else None
        self.heatmap.set_data(
            self.current_values(), [format_value(v) for v in ya.values],
            [format_value(v) for v in xa.values] if xa is not None else [""],
            ya.key, xa.key if xa is not None else "")

    def seed_to_open(self) -> int:
        d = self.definition
        assert d is not None
        show = self.show_box.currentText()
        return int(show.split()[1]) if show.startswith("seed ") else d.seeds[0]

    def _cell_clicked(self, row: int, col: int) -> None:
        d = self.definition
        if d is None:
            return
        n_cols = len(d.axes[1].values) if len(d.axes) > 1 else 1
        index = row * n_cols + col
        pt = d.points()[index]
        seed = self.seed_to_open()
        label = ", ".join(f"{k.split('.', 1)[-1]} = {format_value(v)}" for k, v in pt.items())
        self.openRequested.emit(d.params_of(index), seed, f"sweep point {label}, seed {seed}")


__all__ = ["QtSweepDialog", "QtSweepHeatmap"]
