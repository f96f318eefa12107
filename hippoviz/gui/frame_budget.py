"""Which views redraw in a display tick when the window's drawing costs the simulation its speed.

The simulation thread runs at a lower priority than the GUI thread (the window stays
responsive). While a core is free that costs the simulation nothing: the GUI thread draws on
the other core. When every core is busy (another program, or a machine with one core), each
millisecond the GUI thread draws is one the simulation thread waits for a CPU: at maximum speed,
a view that takes a fifth of a core to draw takes a fifth of the simulation's speed.

:class:`FrameBudget` sees that from the kernel's own account of the simulation thread: the
seconds it waited for a CPU, against the seconds the GUI thread ran (``ratio``: about 0 while a
core is free, about 1 when the GUI's time comes out of the simulation's). While the simulation
plays at maximum speed and that ratio says it is being starved, the views other than the arena
(and the parameter panel) are *spared*: at most one of them redraws in a tick, each at most every
:attr:`FrameBudget.interval_s`, which adapts, once a window, so that the GUI thread takes about
:attr:`FrameBudget.share` of a core, between a tick and ``1 / min_hz``. The arena, the status bar
and the display timer keep their 30 frames a second. Otherwise, and where the kernel does not
say (not Linux), every view on screen redraws every tick.

No Qt here: the window feeds it clocks and asks it (tests drive it with made-up clocks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

#: Views that always redraw every tick: the arena (the rat, the display's frame) and the
#: parameter panels (edits echo at once).
ALWAYS: frozenset[str] = frozenset({"Arena", "Controls", "Controls B"})


class FrameBudget:
    """Spares the views other than :data:`ALWAYS` while the simulation thread is starved.

    Parameters
    ----------
    share : float
        Share of a core the GUI thread aims at while sparing (the arena alone takes about
        0.09 on the machine the defaults were measured on).
    min_hz : float
        Fewest redraws a second of a spared view (the longest interval is ``1 / min_hz``).
    tick_s : float
        The display timer's period (the shortest interval, and the first one when sparing
        starts is three ticks).
    window_s : float
        Seconds over which the clocks are compared before deciding again.
    on_ratio, off_ratio : float
        Sparing starts when the simulation thread waited for a CPU more than ``on_ratio`` of
        the GUI thread's CPU time in a window, and ends below ``off_ratio``.
    """

    def __init__(self, share: float = 0.10, min_hz: float = 4.0, tick_s: float = 1.0 / 30.0,
                 window_s: float = 1.0, on_ratio: float = 0.5, off_ratio: float = 0.25) -> None:
        self.share = share
        self.min_hz = min_hz
        self.tick_s = tick_s
        self.window_s = window_s
        self.on_ratio = on_ratio
        self.off_ratio = off_ratio
        #: Whether sparing may happen at all (the View menu's switch).
        self.enabled = True
        #: Whether the last window found the simulation thread starved while playing flat out.
        self.starved = False
        #: Fewest seconds between two redraws of a spared view while sparing (0: every tick).
        self.interval_s = 0.0
        #: The last window's figures: GUI thread's share of a core, wait / GUI ratio, and the
        #: spared views' redraws a second each (None while not sparing).
        self.gui_share = 0.0
        self.ratio = 0.0
        self.views_hz: float | None = None
        self._last: dict[str, float] = {}
        self._t0: float | None = None
        self._gui0 = 0.0
        self._wait0: float | None = None
        self._drawn = 0
        self._shown = 0
        self._ticks = 0

    @property
    def active(self) -> bool:
        """Whether views are being spared now."""
        return self.enabled and self.starved

    def update(self, now: float, gui_cpu_s: float, sim_wait: Callable[[], float | None],
               flat_out: bool) -> None:
        """Feed the clocks (call once a tick): the GUI thread's CPU seconds so far, the
        simulation thread's seconds spent waiting for a CPU so far (``sim_wait()``, asked once
        a window; None: unknown), and whether the simulation plays at maximum speed. Decides
        again once every :attr:`window_s`."""
        if self._t0 is not None and now - self._t0 < self.window_s:
            return
        sim_wait_s = sim_wait()
        if self._t0 is None or sim_wait_s is None or self._wait0 is None:
            self._restart(now, gui_cpu_s, sim_wait_s)
            if sim_wait_s is None:
                self.starved = False
                self.interval_s = 0.0
                self.views_hz = None
            return
        dt = now - self._t0
        gui = max(0.0, gui_cpu_s - self._gui0)
        wait = max(0.0, sim_wait_s - self._wait0)
        self.gui_share = gui / dt
        self.ratio = wait / gui if gui > 1e-4 else 0.0
        was = self.active
        if not flat_out:
            self.starved = False
        elif self.starved:
            self.starved = self.ratio > self.off_ratio
        else:
            self.starved = self.ratio > self.on_ratio
        # redraws a second of each spared view on screen (their mean number over the ticks)
        self.views_hz = (self._drawn / dt / (self._shown / self._ticks)
                         if was and self.active and self._shown else None)
        if not self.active:
            self.interval_s = 0.0
        elif not was:
            self.interval_s = 3.0 * self.tick_s
        elif self.gui_share > self.share:
            self.interval_s = min(1.0 / self.min_hz, max(self.tick_s, 1.5 * self.interval_s))
        elif self.gui_share < 0.7 * self.share:
            self.interval_s = self.interval_s / 1.5 if self.interval_s / 1.5 >= self.tick_s else 0.0
        self._restart(now, gui_cpu_s, sim_wait_s)

    def _restart(self, now: float, gui_cpu_s: float, sim_wait_s: float | None) -> None:
        self._t0, self._gui0, self._wait0 = now, gui_cpu_s, sim_wait_s
        self._drawn = self._shown = self._ticks = 0

    def pick(self, now: float, shown: Iterable[str],
             in_progress: Callable[[str], bool] = lambda _n: False) -> set[str]:
        """Of the views on screen ``shown``, those to redraw in this tick: all of them when not
        sparing; else those of :data:`ALWAYS` and at most one other, the one with a redraw in
        progress (spread over ticks) or else the longest waiting once due."""
        names = list(shown)
        if not self.active:
            return set(names)
        out = {n for n in names if n in ALWAYS}
        spared = [n for n in names if n not in ALWAYS]
        self._ticks += 1
        self._shown += len(spared)
        going = [n for n in spared if in_progress(n)]
        if going:
            choice: str | None = going[0]
        else:
            due = [n for n in spared if now - self._last.get(n, -1e9) >= self.interval_s - 1e-3]
            choice = min(due, key=lambda n: self._last.get(n, -1e9)) if due else None
        if choice is not None:
            out.add(choice)
            if not going:
                self._last[choice] = now
            self._drawn += 1
        return out


__all__ = ["ALWAYS", "FrameBudget"]
