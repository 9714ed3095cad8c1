"""``python -m pipelines.reliability.fake_cli ARGS``: the real command line (``python -m
pipelines ARGS``) with the test suite's keyword fake (``tests/fake_analyzers.py``) at the
model boundary, so a runner starts in a second instead of loading models; everything else
(jobs, leases, the database) is real. Run it from the repository's root.

DISCERN_FAKE_BATCH_SECONDS makes each batch's analysis take that long, as real models do,
so a test can act while a job is in the middle of its work.
"""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str]) -> int:
    from pipelines import jobs
    from pipelines.analyzers import loader
    from tests.fake_analyzers import load_fake_analyzers

    loader.load_analyzers = load_fake_analyzers
    delay = float(os.environ.get("DISCERN_FAKE_BATCH_SECONDS", "0") or 0)
    if delay:
        analyze_batch = jobs.analyze_batch

        def slow_batch(*args, **kwargs):
            time.sleep(delay)
            return analyze_batch(*args, **kwargs)

        jobs.analyze_batch = slow_batch
    from pipelines.__main__ import main as cli

    return cli(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
