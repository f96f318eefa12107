"""The views: each draws what a :class:`hippoviz.runtime.DataSource` serves, pulled by the
window's display timer (``refresh()``) while some of it is on screen.

Every view is ``View(source, selection, parent)`` with a ``title``; the selection
(:class:`~hippoviz.gui.views.selection.QtSelection`) is the cell shared by all of them. The live
window and the replay window host the same classes.
"""
