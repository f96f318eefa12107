"""Experiment protocols run live in the app: the Experiments menu, the phase timeline, and the
runner that attaches a :class:`hippoviz.experiments.ProtocolRun` to the app's session."""
