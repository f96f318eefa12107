"""What leaves the window: screenshots with provenance sidecars, movies, lossless session
recordings (a :class:`hippoviz.record.Recorder` listening to the session's chunks), NWB exports,
and the Capture menu that offers them (:mod:`~hippoviz.gui.capture.capture_controller`)."""
