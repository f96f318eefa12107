"""hippoviz: watch the hippocampus teach itself.

A live, self-supervised entorhinal-hippocampal loop (Santos-Pata et al. 2021, iScience 24:102364)
driven by a foraging rat. Importing this package imports nothing heavy.
"""

__version__ = "0.6.2"
