"""L2: experiment protocols, headless sessions and their analyses.

- :mod:`~hippoviz.experiments.protocol`: protocol TOML files (phases, manipulations, analyses),
  validated with errors that name the file, line and key;
- :mod:`~hippoviz.experiments.engine`: :class:`ProtocolRun`, the phase state machine (headless
  and live in the app);
- :mod:`~hippoviz.experiments.analyses`, :mod:`~hippoviz.experiments.measures`: what a phase
  computes at its end;
- :mod:`~hippoviz.experiments.report`: the rodent results, fixed criteria and ``report.md``;
- :mod:`~hippoviz.experiments.sweep`: many seeds with Dask;
- :mod:`~hippoviz.experiments.cli`: ``hippoviz experiment``;
- :mod:`~hippoviz.experiments.session`, :mod:`~hippoviz.experiments.bench`: ``hippoviz run`` and
  ``hippoviz bench``.

Nothing here imports a GUI toolkit; figures are drawn by ``hippoviz.gui.figures``.
"""
