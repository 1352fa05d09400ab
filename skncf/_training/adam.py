"""Adam as Keras computes it, applied by TensorFlow's fused kernel.

Keras 3's ``Adam`` updates a variable with a chain of element-wise operations, each a
pass over the variable, and turns an embedding's sparse gradient dense on the way
(keras-team/keras#19992). TensorFlow's ``ResourceApplyAdam`` kernel computes the same
update, ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``, in one pass. On the
small tables of recommender graphs the optimizer dominates a step, so this alone makes
training steps about twice as fast (``benchmarks/throughput.py``), with Keras' numbers.

Dense Adam still passes over every row of every embedding table at every step, since the
moments of rows a batch did not look up keep decaying and moving them. With ``lazy=True``
the sparse gradients of embedding lookups update only the rows looked up, moments
included (TF Addons' ``LazyAdam``): a different optimizer, but on tables of 100,000s of
rows the only one whose step costs what the batch costs (``benchmarks/scale.py``).
"""

import tensorflow as tf

from .._compat import backing_variable


class FusedAdam:
    """Adam over a fixed list of Keras variables, one fused kernel call per variable.

    Parameters
    ----------
    variables : list of keras.Variable
    learning_rate : float
    beta_1, beta_2, epsilon : float
        Keras' defaults.
    lazy : bool, default=False
        Update only the rows a sparse gradient (``tf.IndexedSlices``) names.
    """

    def __init__(
        self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7, lazy=False
    ):
        self.variables = list(variables)
        self.lazy = lazy
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        # a variable, not a constant: a compiled program serves fits of any rate
        self.learning_rate = tf.Variable(learning_rate, dtype=tf.float32, trainable=False)
        self.moments = [
            (
                tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False),
                tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False),
            )
            for v in self.variables
        ]
        # one count for all replicas under a tf.distribute strategy (the first one's)
        self.iterations = tf.Variable(
            0.0, trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
        )

    def restart(self, learning_rate):
        """Start again from zero moments and step count, at ``learning_rate``."""
        for moments in self.moments:
            for moment in moments:
                moment.assign(tf.zeros_like(moment))
        self.iterations.assign(0.0)
        self.learning_rate.assign(learning_rate)

    def apply(self, gradients):
        """One Adam step with ``gradients``, in the order of ``variables``."""
        step = self.iterations.assign_add(1.0)
        beta_1_power, beta_2_power = tf.pow(self.beta_1, step), tf.pow(self.beta_2, step)
        for variable, (m, v), gradient in zip(self.variables, self.moments, gradients):
            if gradient is None:  # a variable this loss does not reach
                continue
            if self.lazy and isinstance(gradient, tf.IndexedSlices):
                self._apply_rows(variable, m, v, gradient, beta_1_power, beta_2_power)
                continue
            tf.raw_ops.ResourceApplyAdam(
                var=backing_variable(variable).handle,
                m=m.handle,
                v=v.handle,
                beta1_power=beta_1_power,
                beta2_power=beta_2_power,
                lr=tf.cast(self.learning_rate, variable.dtype),
                beta1=tf.constant(self.beta_1, variable.dtype),
                beta2=tf.constant(self.beta_2, variable.dtype),
                epsilon=tf.constant(self.epsilon, variable.dtype),
                grad=tf.convert_to_tensor(gradient),
            )

    def _apply_rows(self, variable, m, v, gradient, beta_1_power, beta_2_power):
        """Adam on the rows of a sparse gradient only (repeated rows summed first)."""
        rows, position = tf.unique(gradient.indices)
        g = tf.math.unsorted_segment_sum(gradient.values, position, tf.shape(rows)[0])
        m_rows = self.beta_1 * tf.gather(m, rows) + (1 - self.beta_1) * g
        v_rows = self.beta_2 * tf.gather(v, rows) + (1 - self.beta_2) * tf.square(g)
        rate = (
            tf.cast(self.learning_rate, m_rows.dtype)
            * tf.sqrt(1 - beta_2_power)
            / (1 - beta_1_power)
        )
        # kernels on the handles: under a tf.distribute strategy, each replica's own copy
        tf.raw_ops.ResourceScatterUpdate(resource=m.handle, indices=rows, updates=m_rows)
        tf.raw_ops.ResourceScatterUpdate(resource=v.handle, indices=rows, updates=v_rows)
        step = rate * m_rows / (tf.sqrt(v_rows) + self.epsilon)
        tf.raw_ops.ResourceScatterSub(
            resource=backing_variable(variable).handle, indices=rows, updates=step
        )
