"""bench: benchmark training recipes for a shared Vision Transformer.

Which optimizer, L2 rate, weight decay, early-stopping patience and learning-rate
schedule make a ViT generalize best, and by how much? Recipes are swept as Optuna
studies, every trial lands in an Optuna storage, and ``bench report`` compares them.
"""

import os

# TensorFlow prints pages of start-up logs otherwise; a user's own setting wins. The Keras
# backend is chosen when Keras is first needed (bench.backend, bench._keras).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
