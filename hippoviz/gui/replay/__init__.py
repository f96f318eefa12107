"""The replay window: a recording scrubbed with a timeline, drawn by the live views through a
:class:`hippoviz.runtime.RecordingSource`."""
