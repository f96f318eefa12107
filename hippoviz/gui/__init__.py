"""L3: the desktop app (the only package that imports PyQt6, pyqtgraph or VisPy).

Import :mod:`hippoviz.gui.app` to start it; importing this package itself loads nothing heavy.
"""
