"""Training: the epoch loops (by users, per positive), the optimizer, warm and
SVD starts, callbacks, and the compiled programs kept between fits."""
