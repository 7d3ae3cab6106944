"""What each long-running ``bench`` command does once :mod:`bench.cli` has parsed its
arguments: ``bench run`` (:func:`run_command`) and ``bench train`` (:func:`train_command`).
Each imports the heavy libraries (Keras, Optuna) only when it runs, so that ``bench
--help`` and a mistyped flag answer at once.
"""

from bench.commands.run import run_command
from bench.commands.train import train_command

__all__ = ["run_command", "train_command"]
