"""Regenerate every screenshot of the README and the user guide into resources/screenshots/.

    .venv/bin/python packaging/screenshots.py              # all of them (about 2-3 minutes)
    .venv/bin/python packaging/screenshots.py --only welcome main-window
    .venv/bin/python packaging/screenshots.py --list       # what each file shows
    .venv/bin/python packaging/screenshots.py --check      # every image the docs use exists

The app runs for real: without a display the script re-runs itself under Xvfb
(``xvfb-run -a``, a 1280x800 screen, the app's default 1280x800 layout), with fresh settings (the
default layout and theme, the welcome panel as at a first start). It drives the main window the
way a user would (play at full speed until a simulated time, select a cell, change gating
parameters, lesion a back-projection, open menus) and grabs the window, a view or the whole
screen. The command-line pictures are the real output of ``hippoviz`` commands drawn as a
terminal. Menu pictures of features the app does not have (yet) are skipped with a warning.

Needs the Debian packages of packaging/system-packages.txt (xvfb, xauth, the xcb libraries).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "screenshots"
SCREEN = (1280, 800)
#: The documents whose pictures must all come from this script (other docs/ pages: a warning).
DOCS = (ROOT / "README.md", ROOT / "docs" / "user-guide.md")
OTHER_DOCS = tuple(p for p in sorted((ROOT / "docs").glob("*.md")) if p not in DOCS)

#: Every picture this script makes: file name -> what it shows. ``optional`` ones need a
#: feature the app may not have yet (the script says so and goes on).
SHOTS: dict[str, str] = {
    "welcome.png": "the first-run panel over the main window (t = 0, paused)",
    "main-window.png": "the whole app after the training minutes, a CA1 place cell selected",
    "place-fields.png": "the Place fields gallery (CA1, sorted by spatial information)",
    "gating.png": "gating changed live (g_ec_ca1 0.5, gamma_lec 0.25): Gating panel + Mismatch",
    "lesion.png": "the CA3 -> DG back-projection lesioned (g_ca3_dg = 0): the Circuit view",
    "weights.png": "the Weights view (a projection as a live heatmap with its histogram)",
    "fork.png": "a forked run, g_ca3_dg = 0 in B only, a simulated minute later: A beside B",
    "menu-record.png": "optional: the menu entry that records the session to HDF5",
    "menu-export-nwb.png": "optional: the menu entry that exports a recording to NWB",
    "menu-screenshot.png": "optional: the menu entry that saves a screenshot",
    "menu-movie.png": "optional: the menu entry that records a movie",
    "menu-experiments.png": "optional: the Experiments menu",
    "cli-run-record.png": "terminal: hippoviz run --preset small --minutes 2 --record session.h5",
    "cli-export-nwb.png": "terminal: hippoviz export session.h5 --nwb session.nwb",
    "cli-experiment.png": "terminal: hippoviz experiment place-cells ...",
    "experiment-figure.png": "a figure written by hippoviz experiment place-cells (rate maps)",
}
OPTIONAL = {k for k, v in SHOTS.items() if v.startswith("optional")}
#: Menu pictures: file -> pattern of the action's text.
MENU_SHOTS = {
    "menu-record.png": r"record session|start recording",
    "menu-export-nwb.png": r"nwb",
    "menu-screenshot.png": r"screenshot",
    "menu-movie.png": r"movie",
    "menu-experiments.png": r"experiment",
}


def log(msg: str) -> None:
    print(f"screenshots: {msg}", flush=True)


# ----------------------------------------------------------------------------------------------
def doc_images(docs: tuple[Path, ...] = DOCS) -> dict[str, list[str]]:
    """``{path relative to the checkout: [doc, ...]}`` of every image the docs show."""
    refs: dict[str, list[str]] = {}
    pat = re.compile(r"!\[[^\]]*\]\(([^)\s]+)|<img[^>]*\ssrc=[\"']([^\"']+)")
    for doc in docs:
        if not doc.is_file():
            continue
        for m in pat.finditer(doc.read_text(encoding="utf-8")):
            target = m.group(1) or m.group(2)
            if re.match(r"[a-z]+://", target):
                continue
            path = (doc.parent / target).resolve()
            rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else target
            refs.setdefault(rel, []).append(doc.relative_to(ROOT).as_posix())
    return refs


def referenced_images() -> dict[str, list[str]]:
    """``{file name: [doc, ...]}`` of the resources/screenshots/ images the docs show."""
    prefix = "resources/screenshots/"
    return {k[len(prefix) :]: v for k, v in doc_images().items() if k.startswith(prefix)}


def check() -> int:
    """Exit status 1 if an image the docs show is missing or is not made by this script
    (icons excepted)."""
    bad = 0
    refs = doc_images()
    for rel, docs in sorted(refs.items()):
        where = ", ".join(sorted(set(docs)))
        name = rel.removeprefix("resources/screenshots/")
        if rel.startswith("resources/icons/"):
            ok, why = (ROOT / rel).is_file(), "is missing"
        elif rel.startswith("resources/screenshots/") and name in SHOTS:
            ok, why = (OUT / name).is_file(), "is missing: run packaging/screenshots.py"
        else:
            ok, why = False, "is not made by packaging/screenshots.py (put screenshots there)"
        if not ok:
            log(f"{rel} (shown by {where}) {why}")
            bad += 1
    for rel, docs in sorted(doc_images(OTHER_DOCS).items()):
        if not rel.startswith(("resources/screenshots/", "resources/icons/")):
            log(
                f"warning: {rel} (shown by {', '.join(sorted(set(docs)))}) is not regenerated "
                "by packaging/screenshots.py"
            )
    if not bad:
        log(f"ok: {len(refs)} images shown by the README and the user guide, all present")
    return 1 if bad else 0


# ----------------------------------------------------------------------------------------------
def reexec_under_xvfb(argv: list[str]) -> int:
    """Run this script again inside a fresh Xvfb server with fresh settings."""
    if shutil.which("xvfb-run") is None:
        log("needs xvfb-run (apt-get install xvfb xauth), or run it on a desktop")
        return 2
    with tempfile.TemporaryDirectory(prefix="hippoviz-shots-") as tmp:
        env = dict(
            os.environ,
            XDG_CONFIG_HOME=str(Path(tmp) / "config"),
            XDG_RUNTIME_DIR=str(Path(tmp) / "runtime"),
            HIPPOVIZ_SHOTS_CHILD="1",
        )
        os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
        env.pop("QT_QPA_PLATFORM", None)  # offscreen would make blank grabs under a display
        cmd = [
            "xvfb-run",
            "-a",
            "-s",
            f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24",
            sys.executable,
            str(Path(__file__).resolve()),
            *argv,
        ]
        return subprocess.run(cmd, env=env).returncode


# ----------------------------------------------------------------------------------------------
class Driver:
    """Drives a real main window synchronously (pumping Qt events while it waits)."""

    def __init__(self, out: Path, minutes: float, wanted: set[str]) -> None:
        from PyQt6.QtWidgets import QApplication

        import hippoviz

        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        self.app.setOrganizationName("hippoviz")
        self.app.setApplicationName("hippoviz")
        self.app.setApplicationVersion(hippoviz.__version__)
        self.out = out
        self.minutes = minutes
        self.wanted = wanted
        self.win: Any = None
        self.made: list[str] = []
        self.skipped: list[str] = []

    # -- plumbing -------------------------------------------------------------------------------
    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def wait(self, pred: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.app.processEvents()
            time.sleep(0.01)

    def start(self) -> None:
        import argparse as ap

        from hippoviz.gui.app import create_window

        self.win = create_window(ap.Namespace(preset="default", seed=1), self.app)
        self.win.show()
        self.win.move(0, 0)
        self.wait(lambda: self.win.isVisible() and self.t_s() is not None, 120, "the window")
        self.pump(1.0)

    def t_s(self) -> float | None:
        t = self.win.source.t_s()
        return None if t is None else float(t)

    def playing(self) -> bool:
        return self.win.source.stats().playing

    def play_until(self, t_end_s: float) -> None:
        """Play at full speed until simulated time ``t_end_s``, then pause."""
        win = self.win
        win.controls.speed_box.setCurrentText("max")
        from hippoviz.runtime import Play

        dt = win.source.stats().dt_s
        win.source.command(Play(until_step=round(t_end_s / dt)))
        win.controls.show_playing(True)
        self.wait(
            lambda: (self.t_s() or 0.0) >= t_end_s - 1.5 * dt and not self.playing(),
            max(120.0, t_end_s),
            f"t = {t_end_s:.0f} s",
        )
        win.controls.show_playing(False)
        self.settle()

    def settle(self) -> None:
        """Fresh rate maps and weights published, and every view redrawn."""
        from hippoviz.runtime import Publish

        self.win.source.command(Publish())
        self.pump(0.8)
        runner = self.win.runner
        self.wait(lambda: bool(runner.maps_idle), 60, "the rate maps")
        self.pump(0.8)

    def set(self, patch: dict[str, Any]) -> None:
        from hippoviz.runtime import SetParams

        self.win.source.command(SetParams(patch))
        self.pump(0.5)
        self.win.params_panel.resync()

    def raise_dock(self, title: str) -> Any:
        dock = self.win.docks.get(title)
        if dock is None:
            raise KeyError(f"no '{title}' view in the window (views: {sorted(self.win.docks)})")
        dock.show()
        dock.raise_()
        self.pump(0.6)
        return dock

    def save(self, img: Any, name: str) -> None:
        if name not in self.wanted:  # a scene run only to get the simulation to its state
            return
        path = self.out / name
        if img.isNull() or not img.save(str(path)):
            raise RuntimeError(f"could not save {path}")
        self.made.append(name)
        log(
            f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
            f"({img.width()}x{img.height()})"
        )

    def grab(self, widget: Any, name: str) -> None:
        self.pump(0.3)
        self.save(widget.grab().toImage(), name)

    def grab_screen(self, name: str) -> None:
        self.pump(0.4)
        screen = self.app.primaryScreen()
        self.save(screen.grabWindow(0).toImage(), name)

    # -- scenes ---------------------------------------------------------------------------------
    def welcome(self) -> None:
        from hippoviz.gui.panels.welcome import QtWelcome

        panels = [w for w in self.win.findChildren(QtWelcome) if w.isVisible()]
        panel = panels[0] if panels else QtWelcome(self.win, settings=self.win.settings)
        panel.show()
        self.pump(0.8)
        self.grab(self.win, "welcome.png")
        panel.dont_show.setChecked(False)
        panel.dismiss()
        self.pump(0.2)

    def best_cell(self, layer: str = "ca1") -> int:
        try:
            from hippoviz.gui.views.fields_view import spatial_information

            rm = self.win.source.ratemaps()
            maps = rm.maps.get(layer) if rm is not None else None
            si, peak = spatial_information(maps)
            import numpy as np

            si = np.where(np.isfinite(si) & (np.nan_to_num(peak) >= 1.0), si, -1.0)
            return int(np.argmax(si))
        except Exception as exc:  # a picture with unit 0 is better than none
            log(f"could not rank {layer} cells ({exc}); selecting unit 0")
            return 0

    def hide_welcome(self) -> None:
        """Close a welcome panel the app showed by itself (without remembering it)."""
        from hippoviz.gui.panels.welcome import QtWelcome

        for panel in self.win.findChildren(QtWelcome):
            if panel.isVisible():
                panel.dont_show.setChecked(False)
                panel.dismiss()

    def main_window(self) -> None:
        self.hide_welcome()
        self.play_until(self.minutes * 60.0)
        self.win.selection.select("ca1", self.best_cell("ca1"))
        self.raise_dock("Place fields")
        self.settle()
        self.grab(self.win, "main-window.png")
        self.grab(self.win.docks["Place fields"], "place-fields.png")

    def gating(self) -> None:
        panel = self.win.params_panel
        panel.tabs.setCurrentIndex(0)  # Gating
        self.set({"learning.g_ec_ca1": 0.5, "inputs.gamma_lec": 0.25})
        self.raise_dock("Mismatch")
        self.play_until((self.t_s() or 0.0) + 60.0)
        self.grab(self.win, "gating.png")
        self.set({"learning.g_ec_ca1": 1.0, "inputs.gamma_lec": 1.0})

    def lesion(self) -> None:
        self.set({"learning.g_ca3_dg": 0.0})
        self.raise_dock("Circuit")
        self.play_until((self.t_s() or 0.0) + 30.0)
        self.grab(self.win, "lesion.png")
        self.set({"learning.g_ca3_dg": 1.0})

    def weights(self) -> None:
        self.raise_dock("Weights")
        self.settle()
        self.grab(self.win.docks["Weights"], "weights.png")

    def fork(self) -> None:
        self.win.fork()
        self.wait(lambda: self.win.params_panel_b is not None, 20.0, "the fork")
        self.win.branch_panel.show_branch("b")
        from hippoviz.runtime import SetParams

        self.win.params_panel_b.source.command(SetParams({"learning.g_ca3_dg": 0.0}))
        self.pump(0.5)
        self.win.params_panel_b.resync()
        self.raise_dock("Place fields")
        self.play_until((self.t_s() or 0.0) + 60.0)
        self.grab(self.win, "fork.png")
        self.win.unfork("a")
        self.wait(lambda: self.win.params_panel_b is None, 20.0, "the unfork")

    def menus(self) -> None:
        for name, pattern in MENU_SHOTS.items():
            found = self.find_action(pattern)
            if found is None:
                self.skipped.append(name)
                log(f"skipped {name}: the app has no menu entry matching /{pattern}/ (yet)")
                continue
            self.show_menu(*found)
            self.grab_screen(name)
            self.close_menus()

    def find_action(self, pattern: str) -> tuple[list[Any], Any] | None:
        """``([top menu, submenu, ...], action)`` of the first menu entry matching."""
        rx = re.compile(pattern, re.IGNORECASE)

        def walk(menu: Any, chain: list[Any]) -> tuple[list[Any], Any] | None:
            for act in menu.actions():
                if act.isSeparator():
                    continue
                text = act.text().replace("&", "")
                if rx.search(text):
                    return [*chain, menu], act
                sub = act.menu()
                if sub is not None:
                    hit = walk(sub, [*chain, menu])
                    if hit:
                        return hit
            return None

        for top in self.win.menuBar().actions():
            if top.menu() is not None:
                hit = walk(top.menu(), [])
                if hit:
                    return hit
        return None

    def show_menu(self, chain: list[Any], action: Any) -> None:
        bar = self.win.menuBar()
        bar.setActiveAction(chain[0].menuAction())
        self.pump(0.4)
        for parent, sub in itertools.pairwise(chain):
            parent.setActiveAction(sub.menuAction())
            sub.popup(parent.mapToGlobal(parent.actionGeometry(sub.menuAction()).topRight()))
            self.pump(0.4)
        chain[-1].setActiveAction(action)
        self.pump(0.4)

    def close_menus(self) -> None:
        from PyQt6.QtWidgets import QMenu

        for w in self.app.topLevelWidgets():
            if isinstance(w, QMenu) and w.isVisible():
                w.hide()
        self.win.menuBar().setActiveAction(None)
        self.pump(0.3)

    def close(self) -> None:
        if self.win is not None:
            self.win.close()
            self.pump(0.5)


# ----------------------------------------------------------------------------------------------
def render_terminal(text: str, path: Path, cols: int = 96) -> None:
    """Draw ``text`` (commands start with ``$ ``) as a dark terminal window into a PNG."""
    from PyQt6.QtCore import QRectF, Qt
    from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

    lines = []
    for line in text.rstrip("\n").splitlines():
        line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line).replace("\t", "    ")
        lines.append(line if len(line) <= cols else line[: cols - 1] + "…")
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(15)
    fm = QFontMetricsF(font)
    pad, bar = 16.0, 30.0
    w = int(fm.horizontalAdvance("M" * cols) + 2 * pad)
    h = int(bar + 2 * pad + fm.lineSpacing() * len(lines))
    img = QImage(w, h, QImage.Format.Format_ARGB32)
    img.fill(QColor(0, 0, 0, 0))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor("#3b4049"))
    p.setBrush(QColor("#15171c"))
    p.drawRoundedRect(QRectF(0.5, 0.5, w - 1, h - 1), 8, 8)
    p.setBrush(QColor("#23262d"))
    p.drawRoundedRect(QRectF(0.5, 0.5, w - 1, bar), 8, 8)
    p.fillRect(QRectF(1, bar - 8, w - 2, 8), QColor("#23262d"))
    for i, col in enumerate(("#ff5f56", "#ffbd2e", "#27c93f")):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(col))
        p.drawEllipse(QRectF(12 + 20 * i, bar / 2 - 6, 12, 12))
    p.setFont(font)
    y = bar + pad + fm.ascent()
    for line in lines:
        if line.startswith("$ "):
            p.setPen(QColor("#2ec99a"))
            p.drawText(QRectF(pad, y - fm.ascent(), w, fm.lineSpacing()), "$")
            p.setPen(QColor("#ffffff"))
            p.drawText(
                QRectF(pad + fm.horizontalAdvance("$ "), y - fm.ascent(), w, fm.lineSpacing()),
                line[2:],
            )
        else:
            p.setPen(QColor("#d5d9e0"))
            p.drawText(QRectF(pad, y - fm.ascent(), w, fm.lineSpacing()), line)
        y += fm.lineSpacing()
    p.end()
    if not img.save(str(path)):
        raise RuntimeError(f"could not save {path}")
    log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({w}x{h})")


def cli_scenes(out: Path, wanted: set[str], made: list[str]) -> None:
    """The command-line pictures: real runs in a temporary folder."""
    from PyQt6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication([sys.argv[0]])  # noqa: F841 (fonts need an application)
    hv = [sys.executable, "-m", "hippoviz"]
    with tempfile.TemporaryDirectory(prefix="hippoviz-cli-") as tmp:

        def run(args: list[str], shown: str, keep: int = 30) -> str:
            r = subprocess.run(
                hv + args,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=1200,
                env=dict(os.environ, COLUMNS="96"),
            )
            if r.returncode != 0:
                raise RuntimeError(
                    f"hippoviz {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-2000:]}"
                )
            lines = r.stdout.rstrip("\n").splitlines()
            if len(lines) > keep:
                lines = [*lines[:keep], f"… ({len(lines) - keep} more lines)"]
            return f"$ {shown}\n" + "\n".join(lines) + "\n"

        rec = ["run", "--preset", "small", "--minutes", "2", "--record", "session.h5"]
        if {"cli-run-record.png", "cli-export-nwb.png"} & wanted:
            text = run(rec, "hippoviz " + " ".join(rec))
            if "cli-run-record.png" in wanted:
                render_terminal(text, out / "cli-run-record.png")
                made.append("cli-run-record.png")
        if "cli-export-nwb.png" in wanted:
            exp = ["export", "session.h5", "--nwb", "session.nwb"]
            text = run(exp, "hippoviz " + " ".join(exp))
            text += "$ ls -lh session.*\n"
            for f in sorted(Path(tmp).glob("session.*")):
                text += f"{f.stat().st_size / 2**20:8.1f} MB  {f.name}\n"
            render_terminal(text, out / "cli-export-nwb.png")
            made.append("cli-export-nwb.png")
        if {"cli-experiment.png", "experiment-figure.png"} & wanted:
            args = [
                "experiment",
                "place-cells",
                "--preset",
                "small",
                "--minutes",
                "6",
                "--out",
                "place-cells",
            ]
            text = run(args, "hippoviz " + " ".join(args), keep=26)
            text += (
                "$ ls place-cells\n"
                + "  ".join(sorted(f.name for f in (Path(tmp) / "place-cells").iterdir()))
                + "\n"
            )
            if "cli-experiment.png" in wanted:
                render_terminal(text, out / "cli-experiment.png", cols=110)
                made.append("cli-experiment.png")
            if "experiment-figure.png" in wanted:
                figs = sorted((Path(tmp) / "place-cells").glob("*maps*.png")) or sorted(
                    (Path(tmp) / "place-cells").glob("*.png")
                )
                if not figs:
                    raise RuntimeError("hippoviz experiment wrote no PNG figure")
                shutil.copyfile(figs[0], out / "experiment-figure.png")
                made.append("experiment-figure.png")
                log(f"wrote {out / 'experiment-figure.png'} (copy of {figs[0].name})")


# ----------------------------------------------------------------------------------------------
GUI_SCENES = (
    ("welcome", {"welcome.png"}),
    ("main_window", {"main-window.png", "place-fields.png"}),
    ("gating", {"gating.png"}),
    ("lesion", {"lesion.png"}),
    ("weights", {"weights.png"}),
    ("fork", {"fork.png"}),
    ("menus", set(MENU_SHOTS)),
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="only these pictures (file names with or without .png)",
    )
    ap.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        help="simulated minutes of training before the main pictures (default 10)",
    )
    ap.add_argument("--out", type=Path, default=OUT, help="output folder")
    ap.add_argument("--list", action="store_true", help="list the pictures and exit")
    ap.add_argument(
        "--check",
        action="store_true",
        help="check that every picture the README and docs/ use exists",
    )
    args = ap.parse_args(argv)
    if args.list:
        for name, what in SHOTS.items():
            print(f"{name:24s} {what}")
        return 0
    if args.check:
        return check()
    wanted = set(SHOTS)
    if args.only:
        wanted = {n if n.endswith(".png") else n + ".png" for n in args.only}
        unknown = wanted - set(SHOTS)
        if unknown:
            ap.error(f"unknown pictures: {', '.join(sorted(unknown))} (see --list)")
    gui_wanted = {n for _, names in GUI_SCENES for n in names} & wanted
    if gui_wanted and not os.environ.get("DISPLAY") and not os.environ.get("HIPPOVIZ_SHOTS_CHILD"):
        return reexec_under_xvfb(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    made: list[str] = []
    skipped: list[str] = []
    failed: list[str] = []
    if gui_wanted:
        drv = Driver(args.out, args.minutes, wanted)
        try:
            drv.start()
            for scene, names in GUI_SCENES:
                # later scenes continue the simulation: the main one runs when any later runs
                needed = names & wanted or (scene == "main_window" and gui_wanted - {"welcome.png"})
                if not needed:
                    continue
                try:
                    getattr(drv, scene)()
                except Exception as exc:
                    failed.append(f"{scene}: {exc}")
                    log(f"FAILED {scene}: {exc}")
        finally:
            drv.close()
        made += drv.made
        skipped += drv.skipped
    cli_wanted = wanted - gui_wanted
    if cli_wanted:
        try:
            cli_scenes(args.out, cli_wanted, made)
        except Exception as exc:
            failed.append(f"command line: {exc}")
            log(f"FAILED command-line pictures: {exc}")
    log(
        f"{len(set(made) & wanted)} pictures in {time.monotonic() - t0:.0f} s"
        + (f"; skipped (feature missing): {', '.join(skipped)}" if skipped else "")
        + (f"; FAILED: {'; '.join(failed)}" if failed else "")
    )
    missing = wanted - set(made) - OPTIONAL
    if missing and not failed:
        failed.append(f"not made: {', '.join(sorted(missing))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
