"""Fitting a model's parameters to data by backpropagation: ``cgrad.fit``.

:mod:`.losses` puts the model and the per-row loss into one program,
:mod:`.data` reads the data (numpy columns, a frame, or any file ``cgrad
batch`` reads, through its readers) and splits off the validation rows,
:mod:`.training` runs the steps (the optimizers are :mod:`cgrad.descent`'s)
and keeps the history.
"""

from .results import Epoch, FitStep, Fitted
from .training import fit

__all__ = ["Epoch", "FitStep", "Fitted", "fit"]
