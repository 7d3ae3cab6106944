"""``python _stand_in_bench.py ARGS...`` is ``bench ARGS...`` whose trials train nothing:
each runs ``run_fixtures.paced_stand_in_trial``, ``$BENCH_STAND_IN_EPOCH_S`` seconds
(default 0.5) per epoch, in this process and in every worker process of ``--jobs N``.

For the tests about processes (kills, signals, workers, storages) rather than training.

Run as a program, this module stands in for ``bench.trial`` in ``sys.modules`` before
anything imports it, so no process of the run loads Keras. Worker processes start by
multiprocessing's "spawn", which imports the parent's main script again (as
``__mp_main__``) before it runs the worker: the stand-in is in place there too.
"""

from __future__ import annotations

import functools
import os
import sys

from run_fixtures import STAND_IN_EPOCH_S, paced_stand_in_trial

run_trial = functools.partial(
    paced_stand_in_trial, epoch_s=float(os.environ.get(STAND_IN_EPOCH_S, "0.5"))
)
# Only as the program (or its worker processes' copy of it): a test session that imports
# this module (pytest's --doctest-modules) keeps the real bench.trial.
if __name__ in ("__main__", "__mp_main__"):
    sys.modules["bench.trial"] = sys.modules[__name__]

if __name__ == "__main__":
    from bench.cli import main

    sys.exit(main(sys.argv[1:]))
