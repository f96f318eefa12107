"""The one exception of :mod:`hippoviz.record`."""

from __future__ import annotations

import errno
import os
import re


class RecordError(ValueError):
    """A recording or export that cannot be written or read. Its message is one line.

    Raised for bad input (unwritable path, existing output without ``force``, a missing,
    truncated or foreign file) and for I/O failures while writing (disk full). Whatever raised
    it, no partial output file is left behind.
    """


_ERRNO = re.compile(r"errno\s*=\s*(\d+)")


def io_failure(exc: BaseException) -> str | None:
    """The one-line reason if ``exc`` is an I/O failure, else ``None``.

    h5py reports failed writes inside HDF5 (e.g. while flushing) as ``RuntimeError`` with the
    C ``errno`` in the message; those count as I/O failures too.
    """
    if isinstance(exc, OSError):
        return os_reason(exc)
    if isinstance(exc, RuntimeError | ValueError):
        text = str(exc)
        m = _ERRNO.search(text)
        if m:
            code = int(m.group(1))
            return os_reason(OSError(code, os.strerror(code)))
        if "write failed" in text or "file write" in text:
            return os_reason(OSError(text.splitlines()[0]))
    return None


def os_reason(exc: BaseException) -> str:
    """A short, one-line reason for an I/O failure (``disk full`` for ENOSPC and friends)."""
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "disk full (no space left on device or file size limit reached)"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    if code == errno.ENOENT:
        return "no such file or folder"
    text = str(exc).strip().splitlines()
    reason = text[0] if text else type(exc).__name__
    low = reason.lower()
    # HDF5 reports low-level write failures without errno; keep the useful part
    if "no space left" in low or "file too large" in low:
        return "disk full (no space left on device or file size limit reached)"
    return reason
