"""A worker process of `flowrun backfill --parallel N`: it runs the schedule dates it reads on stdin, one at a time."""

from __future__ import annotations

import sys

#: how the app layer starts a worker process
COMMAND = [sys.executable, "-m", "flowrun.app.worker"]


def main() -> None:
    from flowrun.app.run import start_execution
    from flowrun.schedule.runner import serve_stdio

    serve_stdio(start_execution)


if __name__ == "__main__":
    main()
