"""Adam as Keras computes it, applied by TensorFlow's fused kernel.

Keras 3's ``Adam`` updates a variable with a chain of element-wise operations, each a
pass over the variable, and turns an embedding's sparse gradient dense on the way
(keras-team/keras#19992). TensorFlow's ``ResourceApplyAdam`` kernel computes the same
update, ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``, in one pass. On the
small tables of recommender graphs the optimizer dominates a step, so this alone makes
training steps about twice as fast (``benchmarks/throughput.py``), with Keras' numbers.
"""

import tensorflow as tf


class FusedAdam:
    """Adam over a fixed list of Keras variables, one fused kernel call per variable.

    Parameters
    ----------
    variables : list of keras.Variable
    learning_rate : float
    beta_1, beta_2, epsilon : float
        Keras' defaults.
    """

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.variables = list(variables)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.epsilon = epsilon
        self.moments = [
            (
                tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False),
                tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False),
            )
            for v in self.variables
        ]
        self.iterations = tf.Variable(0.0, trainable=False)

    def apply(self, gradients):
        """One Adam step with ``gradients``, in the order of ``variables``."""
        step = self.iterations.assign_add(1.0)
        beta_1_power, beta_2_power = tf.pow(self.beta_1, step), tf.pow(self.beta_2, step)
        for variable, (m, v), gradient in zip(self.variables, self.moments, gradients):
            if gradient is None:  # a variable this loss does not reach
                continue
            tf.raw_ops.ResourceApplyAdam(
                var=variable.value.handle,
                m=m.handle,
                v=v.handle,
                beta1_power=beta_1_power,
                beta2_power=beta_2_power,
                lr=tf.constant(self.learning_rate, variable.dtype),
                beta1=tf.constant(self.beta_1, variable.dtype),
                beta2=tf.constant(self.beta_2, variable.dtype),
                epsilon=tf.constant(self.epsilon, variable.dtype),
                grad=tf.convert_to_tensor(gradient),
            )
