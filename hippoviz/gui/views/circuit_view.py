"""Circuit view: the entorhinal-hippocampal loop drawn live in a VisPy scene.

EC -> DG -> CA3 -> CA1 -> EC out run clockwise as sheets of units (one small RGBA image per layer,
coloured by the current activity of each unit); grey arrows are the forward excitatory
projections; red arrows with flat (bar) heads run countercurrent: the inhibitory back-projections
that carry the error, their width following gain x error carried. A gain of 0 (a lesion) cuts the
arrow: a gap with a cross.

Geometry is built once (and again only when layer sizes or lesion states change); each refresh
uploads the sheet colours and sets the widths of three lines.

The scene is drawn offscreen: the VisPy canvas lives in a top-level widget that is never mapped
on the screen (``WA_DontShowOnScreen``), renders into a framebuffer, and the view shows the
pixels as an image in a plain widget. The app's windows thus hold no OpenGL widget: showing the
circuit does not make Qt re-create the main window as an OpenGL surface (the X server showed it
black until everything was drawn again), nothing composites every view of the window through
OpenGL, and floating a dock keeps the same canvas and GL context.

A render for new data is spread over the display timer's ticks (:class:`StagedRender`: a few
visuals into the framebuffer per tick, then the pixels read back in a tick of their own), the
last complete picture staying on show meanwhile.

The labels are not in the scene: the view paints them with Qt over the picture, laid out from
the scene's coordinates when the render starts and shown with it. Qt's text costs a fraction
of VisPy's (which drew its eight text visuals on every picture, about half of a render, and
rasterised every glyph on the CPU the first time a canvas showed it), and Qt finds every glyph
in the system's fonts.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
import vispy.app
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets
from vispy import gloo, scene
from vispy.visuals.transforms import STTransform

from hippoviz import params as P
from hippoviz.gui import palette
from hippoviz.gui.views.selection import QtSelection
from hippoviz.runtime import DataSource

# -- scene geometry (scene units) -----------------------------------------------------------------
_RECT = (0.0, 0.25, 12.4, 7.65)  # x, y, width, height shown by the camera
_S = 1.5  # edge of a layer sheet
#: Centre of each layer's sheet: the loop runs up the left, along the top, down the right.
SHEET_CENTERS: dict[str, tuple[float, float]] = {
    "ec": (2.2, 1.85),
    "dg": (2.2, 6.05),
    "ca3": (6.1, 6.05),
    "ca1": (10.0, 6.05),
    "out": (10.0, 1.85),
}
#: Forward projections: (pre, post, label).
FORWARD: tuple[tuple[str, str, str], ...] = (
    ("ec", "dg", "perforant\npath"),
    ("dg", "ca3", "mossy\nfibres"),
    ("ca3", "ca1", "Schaffer\ncollaterals"),
    ("ca1", "out", "to EC V\n(deep)"),
)
#: Countercurrent inhibitory projections: (from, to, gain key, index into carried_error).
FEEDBACK: tuple[tuple[str, str, str, int], ...] = (
    ("out", "ca1", "learning.g_ec_ca1", 0),
    ("ca1", "ca3", "learning.g_ca1_ca3", 1),
    ("ca3", "dg", "learning.g_ca3_dg", 2),
)
_ARROW_OFFSET = 0.28  # forward and feedback arrows run side by side, this far from the axis
_MIN_W, _MAX_W = 1.5, 9.0  # inhibitory arrow width range (pixels)
_LESION_GAP = 0.32  # half-length of the cut in a lesioned arrow (scene units)


def sheet_shape(n: int) -> tuple[int, int]:
    """Rows and columns of the most square grid holding ``n`` units."""
    n = max(int(n), 1)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    return rows, cols


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return v / max(float(np.hypot(*v)), 1e-9)


def _width_to_scene(px: float) -> float:
    """Nominal pixel width -> scene units (the scene is ~33 px per unit in a 400 px dock)."""
    return px / 33.0


def _quads(
    segments: NDArray[np.float64], width: float, cap: float | None = None
) -> tuple[NDArray[np.float32], NDArray[np.uint32]]:
    """Thick line segments as a triangle mesh: ``segments`` (2k, 2) pairs of points -> (4k, 2)
    vertices and (2k, 3) faces. GL line widths are not portable; triangles are."""
    p = np.asarray(segments, dtype=np.float64).reshape(-1, 2, 2)
    d = p[:, 1] - p[:, 0]
    length = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    n = np.stack([-d[:, 1], d[:, 0]], axis=1) / length * (width / 2.0)
    # square caps (half the width by default) so that segments meet without notches
    ext = d / length * (width / 2.0 if cap is None else cap)
    a, b = p[:, 0] - ext, p[:, 1] + ext
    verts = np.stack([a + n, a - n, b - n, b + n], axis=1).reshape(-1, 2).astype(np.float32)
    k = np.arange(p.shape[0], dtype=np.uint32)[:, None] * 4
    faces = np.concatenate(
        [k + np.array([0, 1, 2], np.uint32), k + np.array([0, 2, 3], np.uint32)], axis=0
    )
    return verts, faces


class _Labels:
    """A group of labels sharing their anchors, size and style (colours are per label), placed
    in scene coordinates and painted by the view with Qt over the picture (:meth:`layout`).

    ``valign`` "above": the text sits above its point; "below": below it.
    """

    def __init__(
        self,
        *,
        halign: str = "center",
        valign: str = "center",
        bold: bool = False,
        italic: bool = False,
        size: float = palette.FONT_PT,
        families: tuple[str, ...] = (),
    ) -> None:
        self.texts: list[str] = []  # as last set
        self.shown: list[str] = []  # as painted (set ones are shown from flush())
        self.pos: list[tuple[float, float]] = []
        self.colors: list[QtGui.QColor] = []
        self.halign = halign
        self.valign = valign
        self.bold = bold
        self.italic = italic
        self.size = size
        self.families = families
        self.visible = True

    def add(
        self, text: str, pos: tuple[float, float] | NDArray[np.float64], color: str
    ) -> tuple[_Labels, int]:
        self.texts.append(text)
        self.shown.append(text)
        self.pos.append((float(pos[0]), float(pos[1])))
        self.colors.append(QtGui.QColor(color))
        return self, len(self.texts) - 1

    def set(self, i: int, text: str) -> None:
        self.texts[i] = text

    def flush(self) -> None:
        self.shown[:] = self.texts

    def layout(self, px: NDArray[np.float64], base: QtGui.QFont) -> list[PlacedText]:
        """Each non-empty label as Qt paints it: ``px`` its points in the picture's pixels."""
        if not self.visible:
            return []
        font = QtGui.QFont(base)
        if self.families:
            font.setFamilies([*self.families, *base.families()])
        font.setPointSizeF(self.size)
        font.setBold(self.bold)
        font.setItalic(self.italic)
        fm = QtGui.QFontMetricsF(font)
        h_flag = {"left": QtCore.Qt.AlignmentFlag.AlignLeft,
                  "right": QtCore.Qt.AlignmentFlag.AlignRight}.get(
            self.halign, QtCore.Qt.AlignmentFlag.AlignHCenter)
        flags = int((h_flag | QtCore.Qt.AlignmentFlag.AlignVCenter).value)
        out = []
        for text, (x, y), color in zip(self.shown, px, self.colors, strict=True):
            if not text:
                continue
            r = fm.boundingRect(QtCore.QRectF(0.0, 0.0, 1e4, 1e4), flags, text)
            w, h = r.width(), r.height()
            left = {"left": x, "right": x - w}.get(self.halign, x - w / 2)
            top = {"above": y - h, "below": y}.get(self.valign, y - h / 2)
            out.append((QtCore.QRectF(left, top, w, h), flags, text, font, color))
        return out


#: A label laid out for painting: its rectangle in the picture, alignment flags, text, font,
#: colour.
PlacedText = tuple[QtCore.QRectF, int, str, QtGui.QFont, QtGui.QColor]
Label = tuple[_Labels, int]


class VispyCircuit(scene.SceneCanvas):
    """The loop as a VisPy scene (a ``SceneCanvas``), drawn only by :meth:`render_image`:
    :class:`QtCircuitView` keeps it offscreen and shows the image (Qt's own paints of
    ``.native`` draw nothing, so embedding ``.native`` in a layout would show nothing)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        vispy.app.use_app("pyqt6")
        super().__init__(
            keys=None, bgcolor=palette.BACKGROUND, show=False, parent=parent, size=(400, 300)
        )
        self.unfreeze()
        self.view = self.central_widget.add_view()
        self.view.camera = scene.PanZoomCamera(aspect=1.0, rect=_RECT, interactive=False)
        self._sizes: dict[str, int] = {}
        self._shapes: dict[str, tuple[int, int]] = {}
        self._luts = {layer: palette.layer_lut(layer) for layer in SHEET_CENTERS}
        self._pad = np.array([*palette.rgb(palette.BACKGROUND), 255], dtype=np.uint8)
        self.lesioned = [False, False, False]
        self.widths = [-1.0, -1.0, -1.0]
        self._err_ref = 0.0  # running reference for the inhibitory widths (slowly forgotten)

        # label groups (painted by the view over the picture)
        self._groups = {
            "layer_above": _Labels(valign="above", bold=True, size=palette.LABEL_PT),
            "layer_below": _Labels(valign="below", bold=True, size=palette.LABEL_PT),
            "above": _Labels(valign="above"),
            "below": _Labels(valign="below"),
            "left": _Labels(halign="left"),
            "right": _Labels(halign="right"),
            "shortcut": _Labels(halign="right", valign="above"),
            "waiting": _Labels(italic=True, size=palette.LABEL_PT + 1),
            # the formulas (palette.FORMULA_FACES: x̂ as it should be)
            "formula_above": _Labels(valign="above", families=palette.FORMULA_FACES),
            "formula_below": _Labels(valign="below", families=palette.FORMULA_FACES),
        }

        self.sheets: dict[str, scene.visuals.Image] = {}
        self.layer_text: dict[str, Label] = {}
        for layer, (cx, cy) in SHEET_CENTERS.items():
            img = scene.visuals.Image(
                np.zeros((1, 1, 4), np.uint8), interpolation="nearest", parent=self.view.scene
            )
            self.sheets[layer] = img
            below = layer in ("ec", "out")
            group = self._groups["layer_below" if below else "layer_above"]
            self.layer_text[layer] = group.add(
                palette.LAYER_LABELS[layer],
                (cx, cy + (-1 if below else 1) * (_S / 2 + 0.14)),
                palette.LAYER_COLORS[layer],
            )
        self.frames = scene.visuals.Line(
            connect="segments", width=1.0, method="gl", parent=self.view.scene
        )
        self._build_frames()
        self._build_forward()
        self._build_feedback()

        mx = 0.5 * (SHEET_CENTERS["ec"][0] + SHEET_CENTERS["out"][0])
        my = SHEET_CENTERS["ec"][1]
        self._groups["formula_above"].add("mismatch e = x − x̂", (mx, my + 0.12), palette.MUTED)
        self.mismatch_text = self._groups["formula_below"].add("", (mx, my - 0.12),
                                                              palette.FOREGROUND)
        self.waiting_text = self._groups["waiting"].add(
            "waiting for data…", (mx, 4.0), palette.MUTED
        )
        self.ta_label = self._groups["shortcut"]
        self.waiting_label = self._groups["waiting"]
        self.ta_label.visible = False
        self._layout_key: tuple[Any, ...] | None = None
        self._layout: list[PlacedText] = []
        #: Whether the canvas has drawn once (compiled its shaders).
        self.drawn = False
        self.freeze()

    def reset(self) -> None:
        """Forget the smoothing state of the inhibitory widths (a new view takes the canvas;
        its first refresh sets everything else)."""
        self._err_ref = 0.0
        self.widths = [-1.0, -1.0, -1.0]

    def on_draw(self, event: Any) -> None:
        """Nothing: Qt's paints of the never-shown widget draw nowhere; :meth:`render_image`
        draws the scene into its own framebuffer when the view asks."""

    def render_image(self) -> QtGui.QImage:
        """The scene drawn now into a framebuffer of the canvas's physical size, as an image
        (its device pixel ratio set)."""
        self.drawn = True
        return self.to_image(self.render(alpha=True))

    def to_image(self, rgba: NDArray[np.uint8]) -> QtGui.QImage:
        """Pixels read from a framebuffer as an image (its device pixel ratio set)."""
        a = np.ascontiguousarray(rgba)
        h, w = a.shape[:2]
        img = QtGui.QImage(a.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGBX8888).copy()
        img.setDevicePixelRatio(float(self.pixel_scale))
        return img

    def text_of(self, label: Label) -> str:
        """Current text of a label handle (e.g. ``fb_text[i]``)."""
        group, i = label
        return group.texts[i]

    def label_layout(self, base: QtGui.QFont) -> list[PlacedText]:
        """Every label shown now, laid out in the canvas's (the picture's) pixels (laid out
        again only when a text, a label's visibility, the size or the font changed)."""
        key = (tuple(self.size), base.key(),
               tuple((g.visible, tuple(g.shown)) for g in self._groups.values()))
        if key != self._layout_key:
            to_px = self.view.scene.node_transform(self.scene)
            out: list[PlacedText] = []
            for group in self._groups.values():
                if group.texts:
                    px = np.asarray(to_px.map(np.asarray(group.pos, np.float64)))[:, :2]
                    out += group.layout(px, base)
            self._layout_key, self._layout = key, out
        return self._layout

    @property
    def waiting(self) -> bool:
        return self.waiting_label.visible

    @property
    def shortcut_shown(self) -> bool:
        return bool(self.ta_line.visible)

    # -- geometry helpers -------------------------------------------------------------------------
    @staticmethod
    def _edge(a: str, b: str, offset: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Start and end of an arrow from sheet ``a`` to sheet ``b``, shifted sideways."""
        pa = np.array(SHEET_CENTERS[a], dtype=np.float64)
        pb = np.array(SHEET_CENTERS[b], dtype=np.float64)
        d = _unit(pb - pa)
        normal = np.array([-d[1], d[0]])
        gap = _S / 2 + 0.12
        return pa + d * gap + normal * offset, pb - d * gap + normal * offset

    @staticmethod
    def _dashes(
        ends: tuple[NDArray[np.float64], NDArray[np.float64]], dash: float = 0.18
    ) -> NDArray[np.float32]:
        p0, p1 = ends
        n = max(2, int(np.hypot(*(p1 - p0)) / dash))
        t = np.linspace(0.0, 1.0, n + (n % 2))
        return (p0[None, :] + (p1 - p0)[None, :] * t[:, None]).astype(np.float32)

    def _build_frames(self) -> None:
        """Sheet outlines in the layer colours and the dashed EC out -> EC closure, one Line."""
        segs: list[Any] = []
        colors: list[Any] = []
        for layer, (cx, cy) in SHEET_CENTERS.items():
            h = _S / 2 + 0.04
            c = [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
            for i in range(4):
                segs += [c[i], c[(i + 1) % 4]]
                colors += [palette.rgba_f(palette.LAYER_COLORS[layer], 0.8)] * 2
        dashes = self._dashes(self._edge("out", "ec", 0.0))
        segs += [tuple(p) for p in dashes]
        colors += [palette.rgba_f(palette.MUTED)] * len(dashes)
        self.frames.set_data(np.array(segs, np.float32), color=np.array(colors, np.float32))

    def _build_forward(self) -> None:
        segs: list[NDArray[np.float64]] = []
        tris: list[NDArray[np.float64]] = []
        self.forward_text: list[Label] = []
        for pre, post, label in FORWARD:
            p0, p1 = self._edge(pre, post, _ARROW_OFFSET)
            d = _unit(p1 - p0)
            normal = np.array([-d[1], d[0]])
            tip_base = p1 - d * 0.32
            segs += [p0, tip_base]
            tris += [p1, tip_base + normal * 0.16, tip_base - normal * 0.16]
            self.forward_text.append(self._side_text(label, p0, p1, normal, palette.FORWARD))
        verts, faces = _quads(np.array(segs), 0.07)
        k = len(verts)
        verts = np.concatenate([verts, np.array(tris, np.float32)])
        faces = np.concatenate([faces, k + np.arange(len(tris), dtype=np.uint32).reshape(-1, 3)])
        self.forward_arrows = scene.visuals.Mesh(
            vertices=verts,
            faces=faces,
            color=palette.rgba_f(palette.FORWARD),
            parent=self.view.scene,
        )
        # EC III -> CA1 temporoammonic shortcut: shown only when its gain is above 0
        ta0 = np.array(SHEET_CENTERS["ec"]) + np.array([_S / 2 + 0.12, _S / 2 + 0.12])
        ta1 = np.array(SHEET_CENTERS["ca1"]) - np.array([_S / 2 + 0.15, _S / 2 + 0.15])
        d = _unit(ta1 - ta0)
        nrm = np.array([-d[1], d[0]])
        base = ta1 - d * 0.28
        dash = self._dashes((ta0, base), 0.14).astype(np.float64)
        verts, faces = _quads(dash, 0.04)
        k = len(verts)
        verts = np.concatenate(
            [verts, np.array([ta1, base + nrm * 0.13, base - nrm * 0.13], np.float32)]
        )
        faces = np.concatenate([faces, np.array([[k, k + 1, k + 2]], np.uint32)])
        self.ta_line = scene.visuals.Mesh(
            vertices=verts,
            faces=faces,
            color=palette.rgba_f(palette.FORWARD, 0.85),
            parent=self.view.scene,
        )
        self.ta_line.visible = False
        mid = 0.5 * (ta0 + ta1)
        self.ta_text = self._groups["shortcut"].add(
            "EC III → CA1", mid + nrm * 0.2, palette.FORWARD
        )

    def _build_feedback(self) -> None:
        """Inhibitory arrows. VisPy recompiles a mesh's shaders whenever its data change, so
        the geometry is fixed: each shaft is a unit-thick band that an ``STTransform`` scales
        across its axis (the width follows the error: uniforms only), the lesioned variant
        (cut, with a cross) is a second set of meshes shown instead, the bar heads never change.
        """
        self.fb_shafts: list[scene.visuals.Mesh] = []
        self.fb_cut: list[tuple[scene.visuals.Mesh, scene.visuals.Mesh]] = []
        self.fb_text: list[Label] = []
        self._fb_geom: list[tuple[NDArray[np.float64], ...]] = []
        red = palette.rgba_f(palette.INHIBITORY)
        bars = []
        for src, dst, _key, _i in FEEDBACK:
            # the forward arrow dst->src sits on the other side of the axis
            p0, p1 = self._edge(src, dst, _ARROW_OFFSET)
            d = _unit(p1 - p0)
            normal = np.array([-d[1], d[0]])
            self._fb_geom.append((p0, p1, d, normal))
            mid = 0.5 * (p0 + p1)
            bars += [p1 + normal * 0.22, p1 - normal * 0.22]
            shaft = self._mesh(np.array([p0, p1]), 1.0, red, cap=0.0)
            shaft.transform = STTransform()
            halves = np.array([p0, mid - d * _LESION_GAP, mid + d * _LESION_GAP, p1])
            cut = self._mesh(halves, 1.0, red, cap=0.0)
            cut.transform = STTransform()
            c = 0.14
            x = np.array(
                [
                    mid + (d + normal) * c,
                    mid - (d + normal) * c,
                    mid + (d - normal) * c,
                    mid - (d - normal) * c,
                ]
            )
            cross = self._mesh(x, 0.07, red)
            cut.visible = cross.visible = False
            self.fb_shafts.append(shaft)
            self.fb_cut.append((cut, cross))
            self.fb_text.append(self._side_text("", p0, p1, normal, palette.INHIBITORY))
        self.fb_bars = self._mesh(np.array(bars), 0.08, red)
        for i in range(len(FEEDBACK)):
            self._set_fb_width(i, 3.0)

    def _mesh(
        self,
        segments: NDArray[np.float64],
        width: float,
        color: tuple[float, float, float, float],
        cap: float | None = None,
    ) -> scene.visuals.Mesh:
        verts, faces = _quads(segments, width, cap)
        return scene.visuals.Mesh(vertices=verts, faces=faces, color=color, parent=self.view.scene)

    def _set_fb_width(self, i: int, width_px: float) -> None:
        """Scale the shafts of arrow ``i`` across their axis to ``width_px`` (nominal pixels)."""
        p0, _p1, _d, normal = self._fb_geom[i]
        w = _width_to_scene(width_px)
        # about the arrow's axis: v' = axis + (v - axis) * w along the normal only
        if abs(normal[0]) > 0.5:
            scale, translate = (w, 1.0), (p0[0] * (1.0 - w), 0.0)
        else:
            scale, translate = (1.0, w), (0.0, p0[1] * (1.0 - w))
        for mesh in (self.fb_shafts[i], self.fb_cut[i][0]):
            mesh.transform.scale = scale
            mesh.transform.translate = translate

    def _side_text(
        self,
        text: str,
        p0: NDArray[np.float64],
        p1: NDArray[np.float64],
        normal: NDArray[np.float64],
        color: str,
    ) -> Label:
        """A label beside the middle of the arrow p0 -> p1, on the side ``normal`` points to."""
        pos = 0.5 * (p0 + p1) + normal * 0.2
        if abs(normal[0]) > 0.5:  # vertical arrow: text to its left or right
            return self._groups["left" if normal[0] > 0 else "right"].add(text, pos, color)
        return self._groups["above" if normal[1] > 0 else "below"].add(text, pos, color)

    # -- live updates -----------------------------------------------------------------------------
    def set_layer_sizes(self, sizes: dict[str, int]) -> None:
        """Lay out each sheet as the most square grid of its units (geometry; rarely called)."""
        sizes = {k: int(v) for k, v in sizes.items() if k in SHEET_CENTERS}
        if sizes == self._sizes:
            return
        self._sizes = sizes
        for layer, (cx, cy) in SHEET_CENTERS.items():
            n = sizes.get(layer, 0)
            rows, cols = sheet_shape(n)
            self._shapes[layer] = (rows, cols)
            cell = _S / max(rows, cols)
            img = self.sheets[layer]
            # unit 0 at the top-left: flip y; centre the grid in its square
            x0 = cx - cols * cell / 2
            y0 = cy + rows * cell / 2
            img.transform = STTransform(scale=(cell, -cell), translate=(x0, y0))
            self.set_activity(layer, None)
            label = palette.LAYER_LABELS[layer]
            self._set_text(self.layer_text[layer], f"{label} · {n}" if n else label)
        self.flush_labels()

    def set_silent(self, silent: list[str]) -> None:
        """Mark the layers that have fallen silent in their labels ("SILENT")."""
        for layer in SHEET_CENTERS:
            n = self._sizes.get(layer, 0)
            label = palette.LAYER_LABELS[layer]
            text = f"{label} · {n}" if n else label
            if layer in silent:
                text += " · SILENT"
            self._set_text(self.layer_text[layer], text)

    def set_activity(self, layer: str, values: NDArray[np.floating] | None) -> None:
        """Colour the units of ``layer`` by ``values`` (square root of the fraction of the
        layer's current maximum)."""
        rows, cols = self._shapes.get(layer, (1, 1))
        n = self._sizes.get(layer, 0)
        rgba = np.empty((rows * cols, 4), dtype=np.uint8)
        rgba[:] = self._pad
        if values is None:
            rgba[:n] = self._luts[layer][0]
        else:
            v = np.asarray(values, dtype=np.float32).ravel()[:n]
            v = np.where(np.isfinite(v), np.maximum(v, 0.0), 0.0)
            top = float(v.max()) if v.size else 0.0
            # square root: the weaker winners of a sparse layer stay visible beside the strongest
            idx = (
                (np.sqrt(v / top) * 255.0).astype(np.intp) if top > 0 else np.zeros(v.size, np.intp)
            )
            rgba[: v.size] = self._luts[layer][np.clip(idx, 0, 255)]
        self.sheets[layer].set_data(rgba.reshape(rows, cols, 4))

    def set_feedback(self, gains: list[float | None], carried: NDArray[np.floating] | None,
                     widths: bool = True) -> None:
        """Widths of the inhibitory arrows from ``carried`` (gain x error, per arrow); a gain of
        0 cuts its arrow. ``None`` entries mean unknown (drawn intact, thin). ``widths=False``
        leaves the widths of intact arrows as they are (a lesion still shows at once): each
        width change rebuilds a transform's shader code, so the caller sets them at a few Hz."""
        e = np.zeros(3) if carried is None else np.abs(np.asarray(carried, np.float64)[:3])
        e = np.where(np.isfinite(e), e, 0.0)
        self._err_ref = max(0.995 * self._err_ref, float(e.max()) if e.size else 0.0)
        for i, g in enumerate(gains):
            cut = g is not None and g <= 0.0
            frac = e[i] / self._err_ref if self._err_ref > 0 else 0.0
            width = _MIN_W + (_MAX_W - _MIN_W) * float(np.sqrt(min(max(frac, 0.0), 1.0)))
            if cut:
                width = 2.5
            if cut != self.lesioned[i] or (widths and abs(width - self.widths[i]) > 0.25):
                self.lesioned[i] = cut
                self.widths[i] = width
                self._set_fb_width(i, width)
                cut_shaft, cross = self.fb_cut[i]
                if cut_shaft.visible != cut:
                    cut_shaft.visible = cross.visible = cut
                    self.fb_shafts[i].visible = not cut
            if cut:
                text = "lesion\n(g = 0)"
            elif g is None:
                text = "" if carried is None else f"err {_two_digits(e[i])}"
            elif carried is None:
                text = f"g {g:.2f}"
            else:
                text = f"g {g:.2f}\nerr {_two_digits(e[i])}"
            self._set_text(self.fb_text[i], text)

    def set_shortcut(self, gain: float | None) -> None:
        show = gain is not None and gain > 0
        if self.ta_line.visible != show:
            self.ta_line.visible = show
            self.ta_label.visible = show
        if show:
            self._set_text(self.ta_text, f"EC III → CA1 (×{gain:.2f})")

    def set_mismatch(self, value: float | None) -> None:
        text = "" if value is None else f"‖e‖² / ‖x‖² = {value:.3f}"
        self._set_text(self.mismatch_text, text)

    def set_waiting(self, waiting: bool) -> None:
        self.waiting_label.visible = waiting

    def _set_text(self, label: Label, text: str) -> None:
        group, i = label
        group.set(i, text)

    def flush_labels(self) -> None:
        """Show the texts set since the last call with the next picture."""
        for group in self._groups.values():
            group.flush()


class StagedRender:
    """One render of a :class:`VispyCircuit` spread over several calls of :meth:`step`, each
    drawing the next visuals (in the order and with the visibility rules of
    ``SceneCanvas.draw_visual``) into a framebuffer of its own until its time is up; a last
    call reads the pixels back. The pixels are those :meth:`VispyCircuit.render_image` gives
    for the same scene; the scene must not change between the calls. ``labels``: what the
    view paints over the picture, laid out as the render starts.
    """

    def __init__(self, canvas: VispyCircuit, labels: list[PlacedText]) -> None:
        self.canvas = canvas
        self.labels = labels
        canvas.set_current()
        self.csize = tuple(canvas.size)
        s = canvas.pixel_scale
        size = tuple(int(x * s) for x in self.csize)
        self.fbo = gloo.FrameBuffer(color=gloo.RenderBuffer(size[::-1]),
                                    depth=gloo.RenderBuffer(size[::-1]))
        self._order: list[tuple[Any, bool]] | None = None
        self._pos = 0
        self._invisible: Any = None
        #: The picture once the last call has read it.
        self.image: QtGui.QImage | None = None

    @property
    def all_drawn(self) -> bool:
        """Whether every visual has been drawn (what is left: reading the pixels)."""
        return self._order is not None and self._pos >= len(self._order)

    def step(self, budget_s: float) -> bool:
        """Draw visuals for about ``budget_s`` seconds (at least one), or read the pixels if
        all are drawn; whether the image is ready."""
        c = self.canvas
        c.set_current()
        c.push_fbo(self.fbo, (0, 0), self.csize)
        try:
            if self.all_drawn:
                self.image = c.to_image(self.fbo.read())
                c.drawn = True
                return True
            t_end = time.perf_counter() + budget_s
            if self._order is None:  # the first call clears, as SceneCanvas.render does
                c.context.clear(color=c._bgcolor, depth=True)
                scene_root = c.scene
                if scene_root not in c._draw_order:
                    c._draw_order[scene_root] = c._generate_draw_order()
                self._order = list(c._draw_order[scene_root])
            c._drawing = True
            try:
                self._draw_until(t_end)
            finally:
                c._drawing = False
            gloo.flush()  # the GL driver may rasterise these while the GUI does other work
        finally:
            c.pop_fbo()
        return False

    def _draw_until(self, t_end: float) -> None:
        order = self._order
        assert order is not None
        drew = False
        while self._pos < len(order):
            if drew and time.perf_counter() >= t_end:
                return
            node, start = order[self._pos]
            self._pos += 1
            if start:
                if self._invisible is None:
                    if not node.visible:
                        self._invisible = node  # skip its subtree
                    elif hasattr(node, "draw"):
                        node.draw()
                        drew = True
            elif node is self._invisible:
                self._invisible = None


#: Offscreen canvases no view uses now. A view takes one (or makes one) and hands it back when
#: it goes; canvases are never freed, because a VisPy canvas that Python collects while
#: another draws broke the other's GL state (its shaders no longer compiled).
_FREE: list[VispyCircuit] = []


def _take_canvas() -> VispyCircuit:
    """A free offscreen canvas, or a new one: a top-level GL widget Qt never maps."""
    if _FREE:
        c = _FREE.pop()
        c.reset()
        return c
    c = VispyCircuit(parent=None)
    native = c.native
    native.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    native.setAttribute(QtCore.Qt.WidgetAttribute.WA_QuitOnClose, False)
    native.resize(400, 300)
    native.show()
    return c


class _Picture(QtWidgets.QWidget):
    """Shows the last image the offscreen canvas rendered and its labels (until the first,
    the background and a note that the circuit is being drawn)."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.image: QtGui.QImage | None = None
        self.labels: list[PlacedText] = []
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._bg = QtGui.QColor(palette.BACKGROUND)

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), self._bg)
        if self.image is not None:
            # drawn at its own size (it was rendered for this one); a resize shows the old
            # picture at its place until the next render
            p.drawImage(QtCore.QPointF(0.0, 0.0), self.image)
            for rect, flags, text, font, color in self.labels:
                p.setFont(font)
                p.setPen(color)
                p.drawText(rect, flags, text)
        else:
            p.setPen(QtGui.QColor(palette.MUTED))
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter,
                       "drawing the circuit…")
        p.end()


class QtCircuitView(QtWidgets.QWidget):
    """Dock widget showing :class:`VispyCircuit`, which draws offscreen (it needs OpenGL:
    xcb / Xvfb, no window of the app's becomes an OpenGL surface)."""

    title = "Circuit"
    #: Fewest seconds (wall time) between two redraws: software GL pays ~20 ms per frame, and
    #: activity coloured at 15 Hz reads as live.
    min_interval_s = 1.0 / 10.0
    #: Fewest seconds between two updates of the numbers (error carried, mismatch) and of the
    #: inhibitory widths: text that changes faster cannot be read, and each width change
    #: rebuilds a transform. Structural changes (sizes, a lesion, a silent layer, new
    #: parameters) show at once, rendered in one go.
    label_interval_s = 0.5
    #: Milliseconds after the view is made (the window is up by then) at which a canvas that
    #: never drew draws once, unseen.
    warm_up_ms = 500
    #: Milliseconds of one display tick spent drawing visuals of a render for new data (at least
    #: one visual per tick; reading the pixels back takes a tick of its own). ``None``: render
    #: in one go. The first picture and a picture at a new size are rendered in one go.
    slice_ms: float | None = 5.0

    def __init__(
        self, source: DataSource, selection: QtSelection,
        parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        self._t_labels = -np.inf
        self._labels_pending = False
        # objects kept, not ids
        self._seen: tuple[Mapping[str, NDArray[np.float32]] | None, P.Params | None,
                          dict[str, int]] | None = None
        self._build_id = -1
        self._t_drawn = -np.inf
        self._sizes: dict[str, int] = {}
        self._silent: list[str] = []
        #: Renders since the view was made (the benchmarks and tests count them).
        self.renders = 0
        self._dirty = True  # the picture does not show the scene as it is (size, first)
        self._job: StagedRender | None = None  # a render spread over ticks, in progress
        self._tick_t0 = 0.0
        self.picture = _Picture(self)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picture)
        self.setMinimumSize(200, 140)
        self.canvas = _take_canvas()
        # handed back when Python lets the view go (a slot on ``destroyed`` would run inside
        # Qt's destructor, where PyQt may no longer call Python safely)
        weakref.finalize(self, _FREE.append, self.canvas)
        if not self.canvas.drawn:
            # a canvas's first draw compiles its shaders: 1-3 s of the GUI thread with
            # software GL. Done offscreen soon after the window is up, so that raising the
            # Circuit tab later does not freeze the window.
            QtCore.QTimer.singleShot(self.warm_up_ms, self._warm_up)

    def _warm_up(self) -> None:
        """Draw the canvas once, unseen, unless it has drawn already (or is drawing its first
        picture over display ticks)."""
        if not self.canvas.drawn and self._job is None:
            self.canvas.render_image()

    @property
    def redraws(self) -> int:
        """Complete renders shown (as :attr:`renders`)."""
        return self.renders

    @property
    def redraw_in_progress(self) -> bool:
        """Whether a render spread over display ticks has visuals left to draw or read."""
        return self._job is not None

    def _fit_canvas(self) -> bool:
        """Size the canvas as the picture; whether it had to change."""
        w, h = max(self.picture.width(), 1), max(self.picture.height(), 1)
        native = self.canvas.native
        if (native.width(), native.height()) != (w, h):
            native.resize(w, h)
            return True
        return False

    def _render(self) -> None:
        """Draw the scene at the picture's size and show it, now (drops a staged render)."""
        self._job = None
        self._fit_canvas()
        self._show(self.canvas.render_image(), self.canvas.label_layout(self.font()))

    def _render_now(self) -> None:
        """Draw the scene as it is now: in one go, except the first picture, which is spread
        over ticks (:meth:`_render_staged`) like any other picture for new data."""
        if self.picture.image is None and self.slice_ms is not None:
            self._render_staged()
        else:
            self._render()

    def _show(self, image: QtGui.QImage, labels: list[PlacedText]) -> None:
        self.picture.image = image
        self.picture.labels = labels
        self.renders += 1
        self._dirty = False
        self.picture.update()

    def _render_staged(self) -> None:
        """Start a render of the scene spread over this and the next ticks; the picture keeps
        the last one meanwhile (before the first: a note that the circuit is being drawn, so
        that the first show, which compiles the canvas's shaders, does not stall the display).
        In one go if the picture is not the size of the view (resized), or :attr:`slice_ms`
        is None."""
        first = self.picture.image is None
        if self.slice_ms is None or (self._dirty and not first):
            self._render()
            return
        if self._fit_canvas() and not first:
            self._render()
            return
        self._dirty = False  # the canvas has the picture's size; a resize now starts again
        self._job = StagedRender(self.canvas, self.canvas.label_layout(self.font()))
        self._advance()

    def _advance(self) -> None:
        """The next part of the staged render; shows the picture once it is read."""
        job = self._job
        if job is None:
            return
        spent = time.perf_counter() - self._tick_t0
        budget = max(0.0, (self.slice_ms or 0.0) / 1000.0 - spent)
        try:
            done = job.step(budget)
        except BaseException:
            self._job = None
            raise
        if done:
            self._job = None
            assert job.image is not None
            self._show(job.image, job.labels)

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._dirty = True  # the next refresh renders at the new size

    def refresh(self) -> None:
        """Pull the last activities and the gains; recolour only if they changed. A render for
        new data is spread over this and the next calls (the display timer's ticks); the scene
        does not change until it is shown."""
        if not self.isVisible():
            return
        self._tick_t0 = time.perf_counter()
        last = self.source.last()
        params = self.source.params()
        build_id = self.source.build_id()
        if build_id != self._build_id or not self._sizes:
            # layer_sizes() may wait for the first build: ask only after a (re)build
            self._build_id = build_id
            self._sizes = dict(self.source.layer_sizes())
        sizes = self._sizes
        if last is not None:  # sizes as the data says, should a rebuild be unannounced
            for layer, k in (
                ("ec", "x"),
                ("dg", "dg"),
                ("ca3", "ca3"),
                ("ca1", "ca1"),
                ("out", "x_hat"),
            ):
                v = last.get(k)
                if v is not None and np.size(v) != sizes.get(layer):
                    sizes = self._sizes = {**sizes, layer: int(np.size(v))}
        health = self.source.health()
        silent = list(health.silent) if health is not None else []
        seen = self._seen
        now = time.monotonic()
        # what changes the drawing itself is shown at once; a gain or any other parameter that
        # leaves the drawing as it is (a slider dragged) comes with the next staged render
        retuned = seen is not None and seen[1] is not params
        structural = (seen is None or seen[2] != sizes or silent != self._silent
                      or (seen[0] is None) != (last is None)
                      or (retuned and _drawing_of(seen[1]) != _drawing_of(params)))
        if self._job is not None:
            if not self._dirty and not structural:
                self._advance()  # the scene stays as it is until the render is shown
                return
            self._job = None  # resized, or a change to show at once: see below
        if (seen is not None and seen[0] is last and seen[1] is params and seen[2] == sizes
                and silent == self._silent):
            if self._labels_pending and now - self._t_labels >= self.label_interval_s:
                # the numbers of the last drawn state (say, after a pause)
                self._t_labels = now
                self._labels_pending = False
                if last is not None:
                    self.canvas.set_feedback(_gains(params), last.get("carried_error"))
                    self.canvas.set_mismatch(_mismatch(last.get("x"), last.get("x_hat")))
                self.canvas.flush_labels()
                self._render_staged()
            elif self._dirty:
                self._render_now()  # resized, or never drawn
            return
        if now - self._t_drawn < self.min_interval_s:
            return  # too soon: not marked as seen, so a later tick draws it
        self._t_drawn = now
        slow_due = structural or now - self._t_labels >= self.label_interval_s
        if slow_due:
            self._t_labels = now
        self._labels_pending = not slow_due
        labels_due = slow_due or retuned  # a gain's new value is shown with the next picture
        self._seen = (last, params, dict(sizes))
        c = self.canvas
        c.set_layer_sizes(sizes)
        self._silent = silent
        c.set_silent(silent)
        gains = _gains(params)
        c.set_shortcut(_param(params, "inputs.gamma_ta"))
        if last is None:
            c.set_waiting(True)
            for layer in SHEET_CENTERS:
                c.set_activity(layer, None)
            c.set_feedback(gains, None)
            c.set_mismatch(None)
        else:
            c.set_waiting(False)
            sources = {
                "ec": ("x", "rate_ec"),
                "dg": ("dg", "rate_dg"),
                "ca3": ("ca3", "rate_ca3"),
                "ca1": ("ca1", "rate_ca1"),
                "out": ("x_hat", "rate_out"),
            }
            for layer, keys in sources.items():
                v = next((last[k] for k in keys if last.get(k) is not None), None)
                c.set_activity(layer, v)
            c.set_feedback(gains, last.get("carried_error"), widths=slow_due)
            if slow_due:
                c.set_mismatch(_mismatch(last.get("x"), last.get("x_hat")))
        if labels_due:
            c.flush_labels()
        if structural:
            self._render_now()  # sizes, a lesion, a silent layer, new parameters: at once
        else:
            self._render_staged()


def _drawing_of(params: P.Params | None) -> tuple[bool, ...]:
    """What of ``params`` changes the circuit's drawing (not just a number on it): which
    back-projections are cut, and whether the EC III -> CA1 shortcut is drawn."""
    ta = _param(params, "inputs.gamma_ta")
    return (*(g is not None and g <= 0.0 for g in _gains(params)), ta is not None and ta > 0.0)


def _gains(params: P.Params | None) -> list[float | None]:
    """The gains of the back-projections, in the order of :data:`FEEDBACK`."""
    return [_param(params, k) for _a, _b, k, _i in FEEDBACK]


def _two_digits(v: float) -> str:
    """Two significant digits, trailing zeros kept (1.0, 2.5, 0.012, 4.5e-05, 12)."""
    return f"{v:#.2g}".rstrip(".")


def _param(params: P.Params | None, key: str) -> float | None:
    if params is None:
        return None
    try:
        return float(P.get(params, key))
    except (KeyError, ValueError, TypeError):
        return None


def _mismatch(x: Any, x_hat: Any) -> float | None:
    if x is None or x_hat is None:
        return None
    x = np.asarray(x, np.float64)
    xh = np.asarray(x_hat, np.float64)
    if x.shape != xh.shape or x.size == 0:
        return None
    den = float(np.dot(x, x))
    return float(np.sum((x - xh) ** 2) / den) if den > 0 else None
