"""One repaint of each window per display frame, however many graphics scenes changed.

Qt paints a ``QGraphicsScene``'s changes from a queued call that, once it has marked the dirty
parts of the scene's views, *immediately* repaints and flushes the whole window
(``QGraphicsScenePrivate::_q_processDirtyItems`` ends by sending the window's pending
``UpdateRequest``). Every pyqtgraph plot widget has a scene of its own, so a frame in which the
arena, the raster and a two-plot view all changed repainted and flushed the window four times
(each flush costs about as much as painting a plot). :class:`PaintOnce` runs those queued calls
itself at the end of a frame, holds back the ``UpdateRequest`` each of them sends, and posts one
per window instead: every dirty widget is then painted in one pass and flushed once. Windows
(floating docks) are repainted one per pass of the event loop, so that nothing else waits for
all of them at once.
"""

from __future__ import annotations

import time

from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PyQt6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QWidget

#: Seconds between two searches of a view for the graphics views it holds (views may add or
#: remove plots, rarely); doubled after each search that found the same scenes, up to
#: RESCAN_MAX_S (searching the parameter panel's thousand widgets takes ~2 ms). A scene not yet
#: found is still painted, by Qt's own repaint, only not coalesced with the others.
RESCAN_S = 1.0
RESCAN_MAX_S = 16.0


class PaintOnce(QObject):
    """Coalesce the repaints that the graphics scenes of some widgets ask for.

    Call :meth:`flush` with the widgets refreshed in a frame, after refreshing them.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._windows: list[QObject] = []
        #: id(widget) -> (time of the search, seconds until the next, the scenes found)
        self._scenes: dict[int, tuple[float, float, list[QGraphicsScene]]] = {}
        self.held = 0  #: UpdateRequests held back so far (for tests and the log)

    def scenes_of(self, widget: QWidget) -> list[QGraphicsScene]:
        """The graphics scenes shown in ``widget`` (cached for :data:`RESCAN_S` to
        :data:`RESCAN_MAX_S`)."""
        now = time.monotonic()
        hit = self._scenes.get(id(widget))
        if hit is not None and now - hit[0] < hit[1]:
            return hit[2]
        views = widget.findChildren(QGraphicsView)
        if isinstance(widget, QGraphicsView):
            views.append(widget)
        scenes: list[QGraphicsScene] = []
        for v in views:
            s = v.scene()
            if s is not None and s not in scenes:
                scenes.append(s)
        same = hit is not None and len(scenes) == len(hit[2]) and all(
            a is b for a, b in zip(scenes, hit[2]))
        every = min(2.0 * hit[1], RESCAN_MAX_S) if same and hit is not None else RESCAN_S
        self._scenes[id(widget)] = (now, every, scenes)
        return scenes

    def forget(self) -> None:
        """Drop the cached scenes (views were re-created)."""
        self._scenes.clear()

    def flush(self, widgets: list[QWidget]) -> None:
        """Process the pending scene changes of ``widgets`` now, and have each window that they
        dirtied repainted once, from the event loop."""
        scenes: list[QGraphicsScene] = []
        for w in widgets:
            for s in self.scenes_of(w):
                if not sip.isdeleted(s) and s not in scenes:
                    scenes.append(s)
        if not scenes:
            return
        app = QApplication.instance()
        if app is None:
            return
        app.installEventFilter(self)
        try:
            for s in scenes:
                QCoreApplication.sendPostedEvents(s, QEvent.Type.MetaCall)
        finally:
            app.removeEventFilter(self)
        windows, self._windows = self._windows, []
        self._post(windows)

    def _post(self, windows: list[QObject]) -> None:
        """Repaint the first of ``windows`` from the event loop, and the next from the loop's
        next pass: each window (a floating dock is one) is painted in a pass of its own, so a
        timer or an input event waits for one window's paint, not for all of them."""
        while windows and sip.isdeleted(windows[0]):
            windows.pop(0)
        if not windows:
            return
        QCoreApplication.postEvent(windows[0], QEvent(QEvent.Type.UpdateRequest),
                                   int(Qt.EventPriority.LowEventPriority.value))
        if len(windows) > 1:
            QTimer.singleShot(0, lambda: self._post(windows[1:]))

    def eventFilter(self, obj: QObject | None, ev: QEvent | None) -> bool:
        """While :meth:`flush` runs the scenes' calls: hold back repaint requests."""
        if ev is not None and obj is not None and ev.type() == QEvent.Type.UpdateRequest:
            if not any(obj is w for w in self._windows):
                self._windows.append(obj)
            self.held += 1
            return True
        return False


__all__ = ["RESCAN_S", "PaintOnce"]
