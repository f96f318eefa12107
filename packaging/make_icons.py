"""Render the app icon's PNGs (16-512 px) from ``resources/icons/hippoviz.svg`` with Qt.

    .venv/bin/python packaging/make_icons.py            # writes resources/icons/hippoviz-N.png
    .venv/bin/python packaging/make_icons.py --check    # exit 1 if a PNG is missing or stale

Also writes ``hippoviz.ico`` (Windows, 16-256 px) next to them. Rendering uses QSvgRenderer on
Qt's ``offscreen`` platform, so no display is needed. Small sizes are rendered at 4x and scaled
down smoothly, which keeps the thin outline from aliasing.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "hippoviz.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_path(size: int) -> Path:
    return ICONS / f"hippoviz-{size}.png"


def render(svg: Path, size: int) -> bytes:
    """PNG bytes of ``svg`` rendered at ``size`` x ``size`` pixels (transparent background)."""
    from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PyQt6.QtGui import QImage, QPainter
    from PyQt6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot parse {svg}")
    big = size * 4 if size < 128 else size
    img = QImage(big, big, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, big, big))
    painter.end()
    if big != size:
        img = img.scaled(
            size,
            size,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    img = img.convertToFormat(QImage.Format.Format_ARGB32)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding the given PNG images (PNG-compressed entries, Vista and later)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        blob = pngs[s]
        dim = 0 if s >= 256 else s  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
        blobs += blob
    return header + entries + blobs


def stale_pngs(tolerance: float = 2.0) -> list[str]:
    """PNGs that are missing or differ from a fresh rendering of the SVG (mean absolute
    difference over RGBA above ``tolerance`` levels of 255). Needs a Qt application."""
    import numpy as np
    from PyQt6.QtGui import QImage

    def pixels(img: QImage) -> np.ndarray:
        img = img.convertToFormat(QImage.Format.Format_RGBA8888)
        buf = np.frombuffer(img.constBits().asstring(img.sizeInBytes()), dtype=np.uint8)
        return buf.reshape(img.height(), img.bytesPerLine())[:, : 4 * img.width()].astype(float)

    bad = []
    for size in SIZES:
        path = png_path(size)
        have = QImage(str(path))
        if have.isNull() or (have.width(), have.height()) != (size, size):
            bad.append(path.name)
            continue
        want = QImage.fromData(render(SVG, size), "PNG")
        if float(np.abs(pixels(have) - pixels(want)).mean()) > tolerance:
            bad.append(path.name)
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="only check that every PNG exists and matches the SVG"
    )
    args = ap.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    if args.check:
        bad = stale_pngs()
        for p in bad:
            print(f"make_icons: missing or out of date (run packaging/make_icons.py): {p}")
        return 1 if bad else 0
    pngs = {}
    for size in SIZES:
        pngs[size] = render(SVG, size)
        png_path(size).write_bytes(pngs[size])
        print(f"wrote {png_path(size).relative_to(ROOT)}")
    ico = ICONS / "hippoviz.ico"
    ico.write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    print(f"wrote {ico.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
