"""L4: experiment protocols run on sessions, their analyses, reports and figures.

- :mod:`~hippoviz.experiments.protocol`: protocol TOML files (phases, manipulations, analyses),
  validated with errors that name the file, line and key;
- :mod:`~hippoviz.experiments.engine`: :class:`ProtocolRun`, the phases of a protocol plugged
  into a :class:`hippoviz.runtime.Session` (headless, and live in the app);
- :mod:`~hippoviz.experiments.analyses`, :mod:`~hippoviz.experiments.measures`: what a phase
  computes at its end (:mod:`~hippoviz.experiments.data`: what it keeps for them);
- :mod:`~hippoviz.experiments.report`: the rodent results, fixed criteria and ``report.md``;
- :mod:`~hippoviz.experiments.figures`, :mod:`~hippoviz.experiments.output`: the figures
  (matplotlib, PNG and SVG) and the files of a run;
- :mod:`~hippoviz.experiments.sweep`: many seeds with Dask;
- :mod:`~hippoviz.experiments.grid`, :mod:`~hippoviz.experiments.grid_sweep`,
  :mod:`~hippoviz.experiments.sweep_figures`, :mod:`~hippoviz.experiments.sweep_cli`: parameter
  sweeps (a grid × seeds on Dask, resumable, a tidy table and heatmaps; ``hippoviz sweep``);
- :mod:`~hippoviz.experiments.cli`: ``hippoviz experiment``;
- :mod:`~hippoviz.experiments.session`, :mod:`~hippoviz.experiments.bench`: collectors and
  summaries of headless runs (``hippoviz run``), ``hippoviz bench``.

Nothing here imports a GUI toolkit.
"""
