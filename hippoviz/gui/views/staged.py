"""A redraw spread over the display timer's ticks (shared by the views that do it)."""

from __future__ import annotations

from collections.abc import Iterator


class StagedRedraw:
    """Mixin for a view whose redraw is a generator of stages (:meth:`_redraw_steps`, each
    ``yield`` ending one tick's share): :meth:`_redraw` runs every stage now, :meth:`_start`
    begins a redraw spread over ticks and :meth:`_step` draws its next stage."""

    _job: Iterator[None] | None = None  # the stages of a redraw in progress

    def _redraw_steps(self) -> Iterator[None]:
        raise NotImplementedError

    @property
    def redraw_in_progress(self) -> bool:
        """Whether a redraw spread over display ticks has stages left to draw."""
        return self._job is not None

    def _start(self) -> None:
        """Begin a redraw spread over ticks: its first stage now."""
        self._job = self._redraw_steps()
        self._step()

    def _step(self) -> None:
        """Draw the next stage of the redraw in progress."""
        job = self._job
        if job is None:
            return
        try:
            next(job)
        except StopIteration:
            self._job = None
        except BaseException:
            self._job = None
            raise

    def _redraw(self) -> None:
        """Redraw now, every stage in this call (drops a redraw in progress)."""
        self._job = None
        for _ in self._redraw_steps():
            pass
