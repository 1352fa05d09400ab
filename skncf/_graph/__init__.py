"""The graph stage: the Keras graphs, where their weights are, and the logits
written once for training and serving."""
