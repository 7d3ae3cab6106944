"""Keras optimizers with the numbers a study varies held in variables."""

from __future__ import annotations

from bench._keras import keras

ops = keras.ops


class VariableMomentumSGD(keras.optimizers.SGD):
    """Keras's SGD whose momentum lives in a variable, so that one traced training step
    serves every momentum a study tries.

    Why: Keras's SGD reads ``momentum`` as a Python float inside its update step, so the
    value is baked into the traced graph and every new momentum traces the step again
    (seconds a trial on a small CPU). Here whether there is momentum at all is decided
    when the optimizer is made (it is part of the optimizer's signature), and the value
    is read from :attr:`momentum_variable` at every step. The update is Keras's.

    Example:
        >>> opt = VariableMomentumSGD(learning_rate=0.1, momentum=0.5, nesterov=True)
        >>> _ = opt.momentum_variable.assign(0.9)
        >>> round(float(opt.momentum_variable.numpy()), 6), opt.momentum
        (0.9, 0.5)
    """

    def __init__(self, *, momentum: float = 0.0, **kwargs) -> None:
        super().__init__(momentum=momentum, **kwargs)
        self.momentum_variable = keras.Variable(
            float(momentum), dtype="float32", trainable=False, name="momentum"
        )

    def update_step(self, gradient, variable, learning_rate) -> None:
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        m = self.momentums[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum_variable, variable.dtype)
        step = ops.multiply(gradient, learning_rate)
        self.assign(m, ops.subtract(ops.multiply(m, momentum), step))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, momentum), step))
        else:
            self.assign_add(variable, m)
