"""Screenshots (hippoviz.gui.capture and the Capture menu): PNG size = view size × scale,
non-blank pictures, SVG that parses, provenance sidecars, default names, the remembered folder,
and no partial file on an unwritable path or a full disk."""

from __future__ import annotations

import errno
import re
import threading
import tomllib
import xml.dom.minidom
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QMessageBox, QVBoxLayout, QWidget

from hippoviz import params as P
from hippoviz.gui.capture import screenshots as C
from hippoviz.gui.capture.capture_controller import install
from hippoviz.runtime import Play

CAPTURE_THREADS = ("hippoviz-movie", "hippoviz-recorder", "hippoviz-nwb-export")


@pytest.fixture(autouse=True)
def _no_capture_thread_left() -> Iterator[None]:
    yield
    left = [t for t in threading.enumerate() if t.name in CAPTURE_THREADS and t.is_alive()]
    assert not left, f"capture threads outlived the test: {left}"


def colours(img: QImage) -> int:
    """Distinct RGB colours of ``img``."""
    rgb = C.image_rgb(img)
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) \
        | rgb[..., 2]
    return len(np.unique(packed))


def run_until(qtbot: Any, win: Any, step: int) -> None:
    win.controls.speed_box.setCurrentText("max")
    win.source.command(Play(until_step=step))
    qtbot.waitUntil(lambda: win.source.step() == step
                    and not win.source.stats().playing, timeout=60000)
    for _ in range(3):  # a few display frames: every view drew the new state
        with qtbot.waitSignal(win.timer.timeout, timeout=2000):
            pass


def visible_error(win: Any) -> QMessageBox | None:
    boxes = [b for b in win.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def no_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_png_is_view_size_times_scale_and_carries_provenance(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path) -> None:
    win = make_window()
    install(win)
    ctl = win.capture
    run_until(qtbot, win, 300)
    params = win.source.params()
    for target in ("Window", "Arena", "Raster"):
        widget = ctl.target(target)
        assert widget is not None and widget.isVisible()
        for scale in C.SCALES:
            path = ctl.screenshot(target, tmp_path / f"{target}-{scale}x.png", scale=scale)
            assert path is not None, ctl.errors
            img = QImage(str(path))
            assert (img.width(), img.height()) == (widget.width() * scale,
                                                   widget.height() * scale)
            assert colours(img) >= 8, f"{target} at {scale}x looks blank"
            side = tomllib.loads(C.sidecar_path(path).read_text(encoding="utf-8"))
            prov = side["provenance"]
            assert prov["kind"] == "screenshot" and prov["view"] == target
            assert prov["seed"] == 1 and prov["scale"] == scale
            assert prov["step"] == 300 and prov["t_s"] == pytest.approx(3.0)
            assert (prov["width_px"], prov["height_px"]) == (img.width(), img.height())
            assert prov["hippoviz_version"]
            assert isinstance(prov["command_log"], str)
            assert P.from_dict(side["params"]) == params
    assert win.view_errors == []


def test_svg_of_a_plot_view_is_valid_xml(qtbot: Any, make_window: Callable[..., Any],
                                         tmp_path: Path) -> None:
    win = make_window()
    install(win)
    run_until(qtbot, win, 100)
    for target in ("Arena", "Raster"):
        path = win.capture.screenshot(target, tmp_path / f"{target}.svg")
        assert path is not None, win.capture.errors
        doc = xml.dom.minidom.parse(str(path))
        root = doc.documentElement
        assert root.tagName == "svg"
        assert int(float(root.getAttribute("width"))) > 0
        assert doc.getElementsByTagName("path") or doc.getElementsByTagName("polyline")
        side = tomllib.loads(C.sidecar_path(path).read_text(encoding="utf-8"))
        assert side["provenance"]["format"] == "svg" and side["provenance"]["seed"] == 1
    # a view without any pyqtgraph plot cannot be SVG: a clear error, nothing written
    plain = QWidget()
    qtbot.addWidget(plain)
    plain.resize(50, 40)
    with pytest.raises(C.CaptureError, match="pyqtgraph"):
        C.save_svg(plain, tmp_path / "plain.svg")
    assert not (tmp_path / "plain.svg").exists()


def test_svg_of_several_plots_places_each(qtbot: Any, tmp_path: Path) -> None:
    w = QWidget()
    qtbot.addWidget(w)
    lay = QVBoxLayout(w)
    for k in (1, 2):
        pw = pg.PlotWidget()
        pw.plot(np.arange(20.0), np.arange(20.0) ** k, pen="y")
        lay.addWidget(pw)
    w.resize(320, 400)
    w.show()
    qtbot.waitExposed(w)
    path = C.save_svg(w, tmp_path / "two.svg", C.Provenance(seed=5), view="two")
    doc = xml.dom.minidom.parse(str(path))
    root = doc.documentElement
    assert (root.getAttribute("width"), root.getAttribute("height")) == ("320", "400")
    inner = [n for n in root.childNodes if getattr(n, "tagName", "") == "svg"]
    assert len(inner) == 2
    ys = sorted(int(n.getAttribute("y")) for n in inner)
    assert ys[0] < ys[1]
    side = tomllib.loads(C.sidecar_path(path).read_text(encoding="utf-8"))
    assert side["provenance"]["seed"] == 5 and "params" not in side


def test_quick_screenshot_default_name_and_remembered_folder(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path) -> None:
    win = make_window(fake=True)
    install(win)
    ctl = win.capture
    shots = tmp_path / "shots"
    shots.mkdir()
    # saving somewhere makes that folder the default of the next quick screenshot
    assert ctl.screenshot("Arena", shots / "first.png", scale=2) is not None
    assert Path(str(win.settings.value(C.FOLDER_KEY))) == shots.resolve()
    act = ctl.act_screenshot
    assert act.shortcut().toString() == "Ctrl+Shift+S" and act in win.actions()
    win.controls.act_play.trigger()  # works while the simulation runs
    act.trigger()
    win.controls.act_play.trigger()
    assert len(list(shots.glob("*-window.png"))) == 1
    made = next(shots.glob("*-window.png"))
    assert re.fullmatch(r"hippoviz-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-window\.png", made.name)
    img = QImage(str(made))
    assert (img.width(), img.height()) == (win.width() * 2, win.height() * 2)  # last scale
    assert C.sidecar_path(made).is_file()
    again = ctl.quick_screenshot()  # same second: a new name, never an overwrite
    assert again is not None and again != made and again.parent == shots.resolve()
    assert C.default_name("Place fields", "svg").endswith("-place-fields.svg")


def test_existing_file_is_refused_unless_forced(qtbot: Any, tmp_path: Path) -> None:
    pw = pg.PlotWidget()
    qtbot.addWidget(pw)
    pw.plot([0, 1, 2], [2, 0, 1])
    pw.resize(120, 90)
    pw.show()
    qtbot.waitExposed(pw)
    path = C.save_png(pw, tmp_path / "a.png")
    before = path.read_bytes()
    with pytest.raises(C.CaptureError, match="already exists"):
        C.save_png(pw, path, scale=2)
    assert path.read_bytes() == before
    C.save_png(pw, path, scale=2, force=True)
    assert QImage(str(path)).width() == 240


def test_unwritable_path_and_full_disk_leave_nothing(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    win = make_window(fake=True)
    install(win)
    arena = win.capture.target("Arena")
    out = tmp_path / "out"
    out.mkdir()
    # the API: a clear exception, naming the file
    with pytest.raises(C.CaptureError, match="does not exist"):
        C.save_png(arena, out / "missing" / "a.png")
    (out / "file").write_text("not a folder")
    with pytest.raises(C.CaptureError, match="not a folder"):
        C.save_png(arena, out / "file" / "a.png")

    def full(fh: Any, data: bytes) -> None:
        fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(C, "_write_bytes", full)
    with pytest.raises(C.CaptureError, match="disk full"):
        C.save_png(arena, out / "b.png", scale=2)
    with pytest.raises(C.CaptureError, match="disk full"):
        C.save_svg(arena, out / "b.svg")
    assert no_leftovers(out) == ["file"]

    # the app: a dialog, the window keeps running, nothing written
    assert win.capture.screenshot("Arena", out / "c.png") is None
    box = visible_error(win)
    assert box is not None and "disk full" in box.text()
    box.close()
    monkeypatch.undo()
    assert win.capture.screenshot("Window", out / "missing" / "w.png") is None
    box = visible_error(win)
    assert box is not None and "does not exist" in box.text()
    box.close()
    assert no_leftovers(out) == ["file"]
    assert win.runner.alive
    assert win.capture.screenshot("Window", out / "ok.png") is not None


def test_screenshot_dialog_saves_the_chosen_view(qtbot: Any, make_window: Callable[..., Any],
                                                 tmp_path: Path) -> None:
    win = make_window(fake=True)
    install(win)
    dlg = win.capture.screenshot_dialog()
    qtbot.waitExposed(dlg)
    assert "Window" in [dlg.what.itemText(i) for i in range(dlg.what.count())]
    dlg.what.setCurrentText("Raster")
    dlg.scale.setCurrentIndex(dlg.scale.findData(4))
    assert dlg.size_label.text().startswith(f"{win.raster.width() * 4} × ")
    dlg.file.edit.setText(str(tmp_path / "raster.png"))
    with qtbot.waitSignal(win.capture.screenshot_saved, timeout=5000) as blocker:
        dlg.save()
    path = Path(blocker.args[0])
    assert path == tmp_path / "raster.png"
    img = QImage(str(path))
    assert (img.width(), img.height()) == (win.raster.width() * 4, win.raster.height() * 4)
    # SVG is offered for plot views and not for the whole window
    dlg2 = win.capture.screenshot_dialog()
    dlg2.what.setCurrentText("Window")
    assert not dlg2.fmt.model().item(1).isEnabled()
    dlg2.what.setCurrentText("Arena")
    assert dlg2.fmt.model().item(1).isEnabled()
    dlg2.reject()


def test_install_on_a_bare_window_skips_what_is_missing(qtbot: Any, tmp_path: Path) -> None:
    from PyQt6.QtWidgets import QLabel, QMainWindow

    win = QMainWindow()
    qtbot.addWidget(win)
    win.setCentralWidget(QLabel("hello"))
    win.resize(200, 120)
    win.show()
    qtbot.waitExposed(win)
    install(win)
    ctl = win.capture
    install(win)  # twice: nothing more
    assert win.capture is ctl
    titles = [a.text() for a in win.menuBar().actions()]
    assert titles == ["&File", "&Capture"]
    file_items = [a.text() for a in ctl.file_menu.actions() if not a.isSeparator()]
    assert file_items == ["Open &recording…", "Export &NWB…"]  # no simulation: no recording
    assert ctl.act_record is None and ctl.session is None
    assert ctl.target_names() == ["Window", "Central view"]
    path = ctl.screenshot("Window", tmp_path / "bare.png", scale=2)
    assert path is not None and QImage(str(path)).width() == 400
    side = tomllib.loads(C.sidecar_path(path).read_text(encoding="utf-8"))
    assert "params" not in side and "seed" not in side["provenance"]
