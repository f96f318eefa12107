"""Start the desktop app: ``hippoviz gui`` calls :func:`main`; ``python -m hippoviz.gui.app``
works too (with a few extra options for screenshots and benchmarks)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

#: Wall-clock time of the process start as seen by this module (for the window-up figure).
_T_IMPORT = time.perf_counter()


def _load_params(preset: str | None, config: str | None) -> tuple[Any, str, list[str]]:
    """Params from a preset and/or a config file; problems become messages, not exceptions."""
    from hippoviz import params as P

    errors: list[str] = []
    hint = f"preset {preset or 'default'}"
    try:
        params = P.load_preset(preset or "default")
    except P.ParamError as exc:
        errors.append(str(exc))
        params = P.load_preset("default")
        hint = "preset default"
    if config:
        try:
            params = P.load(config, base=params)
            hint = str(config)
        except P.ParamError as exc:
            errors.append(f"{exc}\n\nStarting with the {hint} instead.")
    return params, hint, errors


def create_window(ns: argparse.Namespace | Any, app: Any = None) -> Any:
    """Build the main window for the options in ``ns`` (without running the event loop).

    ``ns`` may have ``config``, ``preset``, ``replay``, ``seed``; missing ones default.
    """
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from hippoviz.gui.capture.capture_controller import install as install_capture
    from hippoviz.gui.experiments.experiments_controller import install as install_experiments
    from hippoviz.gui.main_window import QtMainWindow
    from hippoviz.gui.style import apply_theme

    app = app or QApplication.instance()
    settings = QSettings()
    apply_theme(app, str(settings.value("theme", "dark")))
    params, hint, errors = _load_params(getattr(ns, "preset", None), getattr(ns, "config", None))
    seed = getattr(ns, "seed", None)
    win = QtMainWindow(params, seed=1 if seed is None else int(seed), settings=settings,
                       title_hint=hint)
    win.config_path = getattr(ns, "config", None)  # its [nwb] table pre-fills NWB exports
    if getattr(ns, "config", None) and not errors:
        win._add_recent(str(ns.config))
    for msg in errors:
        win.show_error("Cannot open config", msg)
    capture = install_capture(win)  # Capture menu, session recording, replay windows
    install_experiments(win)
    if getattr(ns, "replay", None):
        capture.open_recording(ns.replay)  # a replay window to scrub through
    return win


def main(ns: argparse.Namespace | Any = None) -> int:
    """Run the desktop app until its window closes.

    Parameters
    ----------
    ns : argparse.Namespace, optional
        ``config`` (TOML path), ``preset`` (name), ``replay`` (recording path) and ``seed``,
        each optional (``hippoviz gui`` passes its parsed arguments).

    Returns
    -------
    int
        The exit status (0).
    """
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    import hippoviz
    from hippoviz.runtime.malloc import tune_malloc

    tune_malloc()  # before the threads start: freed arrays go back to the system
    ns = ns if ns is not None else argparse.Namespace()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    holder: dict[str, Any] = {}
    _quit_on_signals(app, holder)
    app.setOrganizationName("hippoviz")
    app.setApplicationName("hippoviz")
    app.setApplicationVersion(hippoviz.__version__)
    win = create_window(ns, app)
    holder["win"] = win
    _decorate(app, win)
    win.show()
    _show_welcome(win, ns)
    up_s = time.perf_counter() - _T_IMPORT
    if getattr(ns, "print_startup", False):
        QTimer.singleShot(0, lambda: print(f"window up after {up_s:.2f} s", flush=True))
    select = getattr(ns, "select", None)
    if select:
        layer, _, unit = str(select).partition(":")
        win.selection.select(layer, int(unit) if unit else None)
    speed = getattr(ns, "speed", None)
    if speed:
        win.controls.speed_box.setCurrentText(speed)
    until = getattr(ns, "run_until", None)
    if until is not None:
        from hippoviz.runtime import Play

        dt = win.source.stats().dt_s
        win.source.command(Play(until_step=round(float(until) / dt)))
        win.controls.show_playing(True)
    elif getattr(ns, "play", False):
        win.controls.play()
    quit_after = getattr(ns, "quit_after", None)
    if quit_after is not None:
        QTimer.singleShot(int(1000 * float(quit_after)), win.close)
    shot = getattr(ns, "screenshot", None)
    if shot:
        screenshot_when_done(win, str(shot), quit=True)
    return int(app.exec())


def _quit_on_signals(app: Any, holder: dict[str, Any]) -> None:
    """A clean close on SIGTERM / SIGINT, whenever it comes: while the window is being built,
    before the event loop runs, or while it runs (the close is queued on the event loop, which
    runs it as soon as it starts). A second signal ends the process at once."""
    import signal

    from PyQt6.QtCore import QTimer

    def close() -> None:
        win = holder.get("win")
        if win is not None:
            win.close()
        app.quit()

    def handler(signum: int, _frame: Any) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        QTimer.singleShot(0, close)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _decorate(app: Any, win: Any) -> None:
    """Window icon, desktop file name, and a timer that lets Python run signal handlers."""
    from PyQt6.QtCore import QTimer
    from PyQt6.QtGui import QIcon

    from hippoviz.resources import resource

    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        path = resource("icons", f"hippoviz-{size}.png")
        if path.is_file():
            icon.addFile(str(path))
    app.setWindowIcon(icon)
    app.setDesktopFileName("hippoviz")
    wake = QTimer(win)  # lets Python run its signal handlers while Qt waits
    wake.timeout.connect(lambda: None)
    wake.start(250)


def _show_welcome(win: Any, ns: Any) -> None:
    """The first-run "what you are looking at" panel (until the user dismisses it for good)."""
    if getattr(ns, "no_welcome", False) or getattr(ns, "screenshot", None):
        return
    from hippoviz.gui.panels.welcome import QtWelcome

    if QtWelcome.should_show(win.settings):
        win.welcome = QtWelcome(win, settings=win.settings)
        win.welcome.play_requested.connect(win.controls.play)
        # Play from the toolbar, the menu or Space starts the simulation: the panel goes too
        win.controls.act_play.triggered.connect(
            lambda checked: checked and win.welcome.isVisible() and win.welcome.dismiss())
        win.welcome.show()


def screenshot_when_done(win: Any, path: str, quit: bool = False, settle_frames: int = 10,
                         timeout_s: float = 600.0) -> Any:
    """Save a grab of the whole window once the simulation has paused (e.g. after
    ``--run-until``) and the views have drawn ``settle_frames`` more frames.

    Returns the polling QTimer (keep a reference while waiting).
    """
    from PyQt6.QtCore import QTimer

    from hippoviz.runtime import Publish

    state = {"frames": 0, "t0": time.monotonic()}
    poll = QTimer(win)

    def check() -> None:
        stats = win.source.stats()
        late = time.monotonic() - state["t0"] > timeout_s
        if stats.playing and not late:
            state["frames"] = 0
            return
        state["frames"] += 1
        if state["frames"] == 1:
            win.source.command(Publish())  # fresh rate maps and weights now
            return
        if (state["frames"] < settle_frames or not win.runner.maps_idle) and not late:
            return
        poll.stop()
        ok = win.grab().save(path)
        print(f"screenshot {'saved to' if ok else 'FAILED:'} {path}", flush=True)
        if quit:
            win.close()

    poll.timeout.connect(check)
    poll.start(100)
    return poll


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hippoviz.gui.app",
                                description="The hippoviz desktop app.")
    p.add_argument("--config", help="TOML config file")
    p.add_argument("--preset", help="preset name (small, default, large)")
    p.add_argument("--replay", help="recording to replay (.h5)")
    p.add_argument("--seed", type=int, help="seed of the first build (default 1)")
    p.add_argument("--play", action="store_true", help="start playing at once")
    p.add_argument("--run-until", type=float, metavar="SECONDS",
                   help="play until this simulated time, then pause (screenshots)")
    p.add_argument("--speed", help="speed label: 1×, 2×, …, max")
    p.add_argument("--select", metavar="LAYER:UNIT", help="select a cell, e.g. ca1:3")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help="close after SECONDS")
    p.add_argument("--screenshot", metavar="PNG",
                   help="save a grab of the window once paused (with --run-until), then quit")
    p.add_argument("--print-startup", action="store_true",
                   help="print how long the window took to come up")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(parse_args()))
