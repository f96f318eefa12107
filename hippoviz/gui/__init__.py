"""L5: the desktop app (the only package that imports PyQt6, pyqtgraph or VisPy).

Import :mod:`hippoviz.gui.app` to start it; importing this package itself loads nothing heavy.
Its rooms: :mod:`~hippoviz.gui.views` (what draws a data source), :mod:`~hippoviz.gui.panels`
(controls around them), :mod:`~hippoviz.gui.main_window`, :mod:`~hippoviz.gui.replay`,
:mod:`~hippoviz.gui.capture` (screenshots, movies, recordings, NWB export) and
:mod:`~hippoviz.gui.experiments` (protocols run live).
"""
