"""Entry point of the frozen hippoviz app (PyInstaller): the same command line as ``hippoviz``."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Dask's local cluster starts worker processes with "spawn": in a frozen app each worker
    # re-runs this executable, and freeze_support() turns it into a worker instead of the CLI.
    multiprocessing.freeze_support()
    from hippoviz.cli import main

    sys.exit(main())
