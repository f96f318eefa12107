"""Numba compiles the model's kernels the first time they run after an install, an update or a
cleared cache (15-60 s on two cores), and caches them (``cache=True``); later starts load them in
well under a second. This module notices a compile while it happens, so that callers can say so
(the app in its status bar, ``hippoviz run`` in one line) and keep it out of their speed figures,
and it compiles the kernels ahead of time (``packaging/setup.sh`` runs ``python -m
hippoviz.runtime.compile``).

>>> with CompileWatch(on_start=lambda: print("compiling...")) as watch:   # doctest: +SKIP
...     sim.run_chunk(100)
>>> watch.compile_s                                                        # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

#: What the app and the command line say while the kernels compile.
COMPILING_TEXT = ("compiling the model's kernels (once after an install or an update; "
                  "cached for later starts)")


class CompileWatch:
    """Notices Numba compiling in one thread, while it compiles.

    Parameters
    ----------
    on_start : callable, optional
        Called (in the compiling thread) when a compile begins: the outermost one, not the
        functions it compiles along the way.
    on_end : callable, optional
        ``on_end(seconds)`` when that compile ends.
    thread_id : int, optional
        The thread to watch (default: the one that enters the context).

    Notes
    -----
    Numba's ``numba:compile`` events fire for real compiles only: loading a kernel from the
    cache fires none. Listeners are process-wide, so events of other threads are ignored.
    Without Numba (or with an older one lacking the event API) nothing is ever reported.
    """

    def __init__(self, on_start: Callable[[], None] | None = None,
                 on_end: Callable[[float], None] | None = None,
                 thread_id: int | None = None) -> None:
        self.on_start = on_start
        self.on_end = on_end
        self.thread_id = thread_id
        #: Seconds spent compiling so far (outermost compiles only).
        self.compile_s = 0.0
        #: Outermost compiles seen so far.
        self.compiles = 0
        self._depth = 0
        self._t0 = 0.0
        self._listener: Any = None

    @property
    def compiling(self) -> bool:
        """Whether a compile is in progress now."""
        return self._depth > 0

    def _mine(self) -> bool:
        return threading.get_ident() == self.thread_id

    def _start(self) -> None:
        if not self._mine():
            return
        self._depth += 1
        if self._depth == 1:
            self._t0 = time.perf_counter()
            if self.on_start is not None:
                self.on_start()

    def _end(self) -> None:
        if not self._mine() or self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            took = time.perf_counter() - self._t0
            self.compile_s += took
            self.compiles += 1
            if self.on_end is not None:
                self.on_end(took)

    def install(self) -> CompileWatch:
        """Start listening (also done by ``with``)."""
        if self.thread_id is None:
            self.thread_id = threading.get_ident()
        try:
            from numba.core import event
        except ImportError:  # pragma: no cover - numba is a dependency
            return self
        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev: Any) -> None:
                watch._start()

            def on_end(self, ev: Any) -> None:
                watch._end()

        self._listener = _Listener()
        event.register("numba:compile", self._listener)  # type: ignore[no-untyped-call]
        return self

    def remove(self) -> None:
        """Stop listening."""
        if self._listener is None:
            return
        from numba.core import event

        event.unregister("numba:compile", self._listener)  # type: ignore[no-untyped-call]
        self._listener = None

    def __enter__(self) -> CompileWatch:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.remove()


def compile_kernels(preset: str = "small", say: Callable[[str], None] | None = None) -> float:
    """Run the simulator briefly so that Numba compiles (or loads from its cache) every kernel a
    session uses; returns the seconds spent compiling (0 when all came from the cache).

    The kernels' types do not depend on the preset, so the small one serves every preset.
    ``say`` gets one line before a compile starts and one when it ends.
    """
    from hippoviz import params as P
    from hippoviz.sim import build

    def started() -> None:
        # several kernels compile one after the other (building the network, then stepping
        # it): the user hears of the first one only, and of the total at the end
        if say is not None and watch.compiles == 0:
            say(f"{COMPILING_TEXT}…")

    with CompileWatch(started) as watch:
        sim = build(P.load_preset(preset), 1)
        sim.run_chunk(20)
    if say is not None and watch.compiles:
        say(f"compiled in {watch.compile_s:.0f} s")
    return watch.compile_s


def main(argv: list[str] | None = None) -> int:
    """``python -m hippoviz.runtime.compile [--prefix TEXT]``: compile the kernels now (prints
    nothing when they are cached already)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hippoviz.runtime.compile",
                                 description="Compile the model's kernels into Numba's cache "
                                             "(nothing to do when they are cached).")
    ap.add_argument("--prefix", default="hippoviz: ", help="text before each line")
    args = ap.parse_args(argv)
    compile_kernels(say=lambda line: print(f"{args.prefix}{line}", flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
