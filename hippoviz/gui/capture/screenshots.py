"""Screenshots: the whole window or one view, PNG at 1×/2×/4× or SVG (pyqtgraph views), each
with a provenance sidecar.

Every picture ``NAME.png`` (or ``.svg``) gets ``NAME.png.toml`` beside it: a ``[provenance]``
table (hippoviz version, seed, simulated time and step, the command log, the view, the pixel
size) followed by the full parameters as ``[params.<section>]`` tables (the text of
:func:`hippoviz.params.dumps`, section headers namespaced), so that::

    d = tomllib.load(open("NAME.png.toml", "rb"))
    params = hippoviz.params.from_dict(d["params"])

gives back the parameters that were in force. Both files are written to temporary names in the
target folder and renamed only when both are complete; a failure (unwritable folder, disk full)
raises :class:`CaptureError` and leaves nothing behind.

>>> prov = provenance_from_source(window.source, window.runner)    # doctest: +SKIP
>>> save_png(window.views["Arena"], folder / default_name("Arena"), 2, prov)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import sys
import tomllib
import xml.dom.minidom
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from numpy.typing import NDArray
from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, QSettings, QStandardPaths
from PyQt6.QtGui import QImage, QPalette
from PyQt6.QtWidgets import QWidget

import hippoviz
from hippoviz import params as P
from hippoviz.record.writer import to_json
from hippoviz.runtime import DataSource, SimRunner

#: Scales offered for PNG screenshots (the PNG is the view's size times the scale).
SCALES: tuple[int, ...] = (1, 2, 4)
#: QSettings key of the folder screenshots and movies were last saved to.
FOLDER_KEY = "capture/folder"
#: Suffix of the sidecar written beside every picture and movie.
SIDECAR_SUFFIX = ".toml"


class CaptureError(RuntimeError):
    """A screenshot or movie that cannot be written. Its message is one line and names the
    file; nothing partial is left behind."""


# -- provenance ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Provenance:
    """Where a picture or movie came from.

    Attributes
    ----------
    params : hippoviz.params.Params or None
        Parameters in force when it was taken.
    seed : int or None
    t_s : float or None
        Simulated time (s).
    step : int or None
        Simulator step.
    command_log : list of (step, command) or None
        Every command applied to the simulator so far (with the build parameters and the seed
        it reproduces the run).
    recording : str or None
        The recording shown, for pictures of a replay.
    """

    params: P.Params | None = None
    seed: int | None = None
    t_s: float | None = None
    step: int | None = None
    command_log: list[Any] | None = None
    recording: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def provenance_from_source(source: DataSource | None, runner: SimRunner | None = None,
                           timeout_s: float = 1.0) -> Provenance:
    """The provenance of what ``source`` shows now.

    The command log is read on the simulation thread through ``runner.call`` (waiting at most
    ``timeout_s``); without a running ``runner`` it is left out.
    """
    if source is None:
        return Provenance()
    log = None
    if runner is not None and runner.alive:
        try:
            log = runner.call(lambda session: session.command_log).result(timeout_s)
        except Exception:  # timeout or no simulator: the rest of the provenance still helps
            log = None
    return Provenance(params=source.params(), seed=source.seed(), t_s=source.t_s(),
                      step=source.step(), command_log=log)


def sidecar_text(prov: Provenance, **fields: Any) -> str:
    """TOML text of the sidecar: ``[provenance]`` (``fields`` first, then version, seed,
    simulated time, step, command log as JSON text) and the parameters as ``[params.*]``."""
    meta: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    meta["hippoviz_version"] = hippoviz.__version__
    meta["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    for key in ("seed", "t_s", "step", "recording"):
        value = getattr(prov, key)
        if value is not None:
            meta[key] = value
    if prov.command_log is not None:
        meta["command_log"] = to_json(prov.command_log)
    for k, v in prov.extra.items():
        if v is not None:
            meta[k] = v
    head = ("# Provenance of a hippoviz picture or movie.\n"
            "# [params] holds every parameter in force; hippoviz.params.from_dict(d['params'])\n"
            "# reads it back.\n")
    text = head + tomli_w.dumps({"provenance": meta})
    if prov.params is not None:
        body = re.sub(r"^\[(\w+)\]$", r"[params.\1]", P.dumps(prov.params), flags=re.M)
        text += "\n" + body
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError:  # a future dumps() layout: fall back to plain tables
            text = head + tomli_w.dumps({"provenance": meta, "params": P.to_dict(prov.params)})
    return text


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``NAME.png`` -> ``NAME.png.toml``."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


# -- file names and folders ---------------------------------------------------------------------
def slug(label: str) -> str:
    """``"Place fields"`` -> ``"place-fields"``."""
    s = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return s or "view"


def default_name(label: str, ext: str = "png", when: _dt.datetime | None = None) -> str:
    """``hippoviz-2026-11-28T08-15-02-arena.png`` (local time, no characters that any file
    system refuses)."""
    when = when or _dt.datetime.now()
    return f"hippoviz-{when:%Y-%m-%dT%H-%M-%S}-{slug(label)}.{ext.lstrip('.')}"


def unique_path(path: str | os.PathLike[str]) -> Path:
    """``path``, or ``stem-2.ext``, ``stem-3.ext``, … if it (or its sidecar) exists."""
    p = Path(path)
    k = 2
    out = p
    while out.exists() or sidecar_path(out).exists():
        out = p.with_name(f"{p.stem}-{k}{p.suffix}")
        k += 1
    return out


def last_folder(settings: QSettings | None) -> Path:
    """The folder pictures were last saved to (default: Pictures, else home)."""
    if settings is not None:
        v = settings.value(FOLDER_KEY)
        if v and Path(str(v)).is_dir():
            return Path(str(v))
    pics = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    if pics and Path(pics).is_dir():
        return Path(pics)
    return Path.home()


def remember_folder(settings: QSettings | None, path: str | os.PathLike[str]) -> None:
    if settings is not None:
        settings.setValue(FOLDER_KEY, str(Path(path).resolve().parent))


# -- writing ------------------------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    from hippoviz.record.errors import os_reason

    return os_reason(exc)


def check_output(path: Path, force: bool = False) -> None:
    """Refuse a path that cannot or must not be written (before any work is done).

    Raises
    ------
    CaptureError
        ``path`` is a folder, its folder is missing or not a folder, or ``path`` (or its
        sidecar) exists and ``force`` is false.
    """
    if path.is_dir():
        raise CaptureError(f"cannot write {path}: it is a folder")
    parent = path.parent
    if not parent.exists():
        raise CaptureError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise CaptureError(f"cannot write {path}: {parent} is not a folder")
    if not force:
        for p in (path, sidecar_path(path)):
            if p.exists():
                raise CaptureError(f"{p} already exists (choose another name or overwrite it)")


def temp_path(path: Path) -> Path:
    """The hidden temporary name ``path`` is written under before the rename."""
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def _write_bytes(fh: Any, data: bytes) -> None:
    """One write of a temporary file (tests replace it to simulate a full disk)."""
    fh.write(data)


def write_files(files: dict[Path, bytes], force: bool = False) -> list[Path]:
    """Write every ``{path: data}`` to a temporary file beside it, then rename them all.

    Either every file ends up complete under its name or none is left (temporary files and
    files already renamed are removed).

    Raises
    ------
    CaptureError
        One line naming the file and the reason (``permission denied``, ``disk full …``).
    """
    for path in files:
        check_output(path, force)
    done: list[Path] = []
    tmps: dict[Path, Path] = {}
    current = next(iter(files))
    try:
        for path, data in files.items():
            current = path
            tmp = temp_path(path)
            tmps[path] = tmp
            with open(tmp, "wb") as fh:
                _write_bytes(fh, data)
                fh.flush()
                os.fsync(fh.fileno())
        for path, tmp in tmps.items():
            current = path
            os.replace(tmp, path)
            done.append(path)
    except OSError as exc:
        for tmp in tmps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        for path in done:
            with contextlib.suppress(OSError):
                path.unlink()
        raise CaptureError(f"cannot write {current}: {_reason(exc)}") from None
    return done


# -- grabbing -----------------------------------------------------------------------------------
def grab_image(widget: QWidget, scale: float = 1) -> QImage:
    """Render ``widget`` (and its children, OpenGL ones included) into an image of exactly
    ``widget.size() * scale`` pixels, drawn at that resolution (text and lines stay sharp).

    Raises
    ------
    CaptureError
        The widget has no size (hidden, never laid out).
    """
    w, h = widget.width(), widget.height()
    if w <= 0 or h <= 0:
        raise CaptureError("nothing to capture: the view has no size (is it hidden?)")
    img = QImage(round(w * scale), round(h * scale), QImage.Format.Format_ARGB32_Premultiplied)
    img.setDevicePixelRatio(float(scale))
    img.fill(widget.palette().color(QPalette.ColorRole.Window))
    # QWidget's own render(): views may define a render() of their own (QGraphicsView does,
    # and so does the raster view)
    QWidget.render(widget, img)
    img.setDevicePixelRatio(1.0)
    return img


def encode_png(img: QImage) -> bytes:
    """PNG bytes of ``img``."""
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = img.save(buf, "PNG")
    buf.close()
    if not ok:
        raise CaptureError("cannot encode the image as PNG")
    return bytes(ba.data())


def image_rgb(img: QImage) -> NDArray[np.uint8]:
    """``(h, w, 3) uint8`` copy of ``img``."""
    rgb = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = rgb.width(), rgb.height(), rgb.bytesPerLine()
    ptr = rgb.constBits()
    ptr.setsize(rgb.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint8).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3)
    return arr.copy()


def save_png(widget: QWidget, path: str | os.PathLike[str], scale: int = 1,
             provenance: Provenance | None = None, view: str = "", force: bool = False) -> Path:
    """Save a screenshot of ``widget`` as PNG (``widget`` size × ``scale`` pixels) and its
    provenance sidecar.

    Parameters
    ----------
    widget : QWidget
        The window or one view.
    path : path-like
        The PNG to write.
    scale : int
        1, 2 or 4 (any positive number works).
    provenance : Provenance, optional
    view : str
        Name of what was captured (``"Window"``, ``"Arena"``, …), stored in the sidecar.
    force : bool
        Overwrite an existing file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CaptureError
        Unwritable path, existing file without ``force``, disk full; nothing is left behind.
    """
    out = Path(path)
    if not scale > 0:
        raise CaptureError(f"scale must be positive, got {scale!r}")
    check_output(out, force)
    img = grab_image(widget, scale)
    data = encode_png(img)
    side = sidecar_text(provenance or Provenance(), kind="screenshot", file=out.name,
                        view=view or None, format="png", scale=scale,
                        width_px=img.width(), height_px=img.height())
    write_files({out: data, sidecar_path(out): side.encode("utf-8")}, force)
    return out


# -- SVG ----------------------------------------------------------------------------------------
def plot_views(widget: QWidget) -> list[QWidget]:
    """The visible pyqtgraph views (``pg.GraphicsView``) in ``widget``, itself included."""
    import pyqtgraph as pg

    views = [widget] if isinstance(widget, pg.GraphicsView) else []
    views += [v for v in widget.findChildren(pg.GraphicsView) if v.isVisibleTo(widget)]
    return [v for v in views if v.width() > 0 and v.height() > 0]


def _correct_closed_paths(fn: Any) -> Any:
    """pyqtgraph 0.14's SVG exporter fails on closed paths (``… Z``) that Qt 6.11 writes
    (pyqtgraph issue #3495): strip the ``Z`` before its coordinate fix and put it back."""

    def wrapper(node: Any, defs: Any, item: Any, options: Any) -> Any:
        closed = []
        for p in node.getElementsByTagName("path"):
            toks = p.getAttribute("d").split()
            if any(t in ("Z", "z") for t in toks):
                closed.append(p)
                p.setAttribute("d", " ".join(t for t in toks if t not in ("Z", "z")))
        out = fn(node, defs, item, options)
        for p in closed:
            d = p.getAttribute("d").strip()
            if d:
                p.setAttribute("d", d + " Z")
        return out

    wrapper.hippoviz_patched = True  # type: ignore[attr-defined]
    return wrapper


@contextlib.contextmanager
def _svg_exporter() -> Iterator[Any]:
    from pyqtgraph.exporters import SVGExporter

    mod = sys.modules[SVGExporter.__module__]
    orig = getattr(mod, "correctCoordinates", None)
    patch = orig is not None and not getattr(orig, "hippoviz_patched", False)
    if patch:
        mod.correctCoordinates = _correct_closed_paths(orig)  # type: ignore[attr-defined]
    try:
        yield SVGExporter
    finally:
        if patch:
            mod.correctCoordinates = orig  # type: ignore[attr-defined]


def svg_bytes(widget: QWidget) -> bytes:
    """SVG of the pyqtgraph views in ``widget``: one view as pyqtgraph exports it, several
    placed where they are on screen (nested ``<svg>`` elements) on the widget's background.

    Raises
    ------
    CaptureError
        ``widget`` holds no visible pyqtgraph view (save it as PNG instead).
    """
    views = plot_views(widget)
    if not views:
        raise CaptureError("SVG export needs a pyqtgraph plot; this view has none "
                           "(save it as PNG)")
    parts = []
    with _svg_exporter() as exporter:
        for v in views:
            raw = exporter(v.scene()).export(toBytes=True)
            doc = xml.dom.minidom.parseString(raw)
            # the background is a 100 % rect, which Qt's own SVG renderer draws 100 px wide
            for rect in doc.documentElement.getElementsByTagName("rect"):
                if rect.getAttribute("width") == "100%":
                    rect.setAttribute("width", str(v.width()))
                    rect.setAttribute("height", str(v.height()))
            pos = v.mapTo(widget, v.rect().topLeft()) if v is not widget else None
            parts.append((doc, v, pos))
    w, h = widget.width(), widget.height()
    if len(parts) == 1:
        doc, v, _ = parts[0]
        root = doc.documentElement
        root.setAttribute("width", str(v.width()))
        root.setAttribute("height", str(v.height()))
        return doc.toxml(encoding="utf-8")
    out = xml.dom.minidom.getDOMImplementation().createDocument(
        "http://www.w3.org/2000/svg", "svg", None)
    root = out.documentElement
    root.setAttribute("xmlns", "http://www.w3.org/2000/svg")
    root.setAttribute("xmlns:xlink", "http://www.w3.org/1999/xlink")
    root.setAttribute("version", "1.1")
    root.setAttribute("width", str(w))
    root.setAttribute("height", str(h))
    root.setAttribute("viewBox", f"0 0 {w} {h}")
    title = out.createElement("title")
    title.appendChild(out.createTextNode(f"hippoviz {hippoviz.__version__}"))
    root.appendChild(title)
    bg = out.createElement("rect")
    bg.setAttribute("width", str(w))
    bg.setAttribute("height", str(h))
    bg.setAttribute("fill", widget.palette().color(QPalette.ColorRole.Window).name())
    root.appendChild(bg)
    for doc, v, pos in parts:
        node = out.importNode(doc.documentElement, True)
        node.setAttribute("x", str(pos.x() if pos is not None else 0))
        node.setAttribute("y", str(pos.y() if pos is not None else 0))
        node.setAttribute("width", str(v.width()))
        node.setAttribute("height", str(v.height()))
        root.appendChild(node)
    return out.toxml(encoding="utf-8")


def save_svg(widget: QWidget, path: str | os.PathLike[str],
             provenance: Provenance | None = None, view: str = "", force: bool = False) -> Path:
    """Save the pyqtgraph plots of ``widget`` as SVG, with the provenance sidecar.

    Raises
    ------
    CaptureError
        No pyqtgraph plot in ``widget``, unwritable path, existing file without ``force``,
        disk full; nothing is left behind.
    """
    out = Path(path)
    check_output(out, force)
    data = svg_bytes(widget)
    side = sidecar_text(provenance or Provenance(), kind="screenshot", file=out.name,
                        view=view or None, format="svg", width_px=widget.width(),
                        height_px=widget.height())
    write_files({out: data, sidecar_path(out): side.encode("utf-8")}, force)
    return out


def save_screenshot(widget: QWidget, path: str | os.PathLike[str], scale: int = 1,
                    provenance: Provenance | None = None, view: str = "",
                    force: bool = False) -> Path:
    """:func:`save_svg` for ``.svg`` paths, else :func:`save_png`."""
    if Path(path).suffix.lower() == ".svg":
        return save_svg(widget, path, provenance, view, force)
    return save_png(widget, path, scale, provenance, view, force)


__all__ = [
    "SCALES",
    "CaptureError",
    "Provenance",
    "default_name",
    "grab_image",
    "image_rgb",
    "last_folder",
    "plot_views",
    "provenance_from_source",
    "remember_folder",
    "save_png",
    "save_screenshot",
    "save_svg",
    "sidecar_path",
    "sidecar_text",
    "svg_bytes",
    "unique_path",
    "write_files",
]
