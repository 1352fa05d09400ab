"""The demo: train on built-in synthetic data, print metrics and recommendations.

Needs no download. Users belong to planted taste groups (see
:func:`skncf.datasets.make_interactions`), so the demo can show that the model found them.
"""

import time

import numpy as np

from ._estimator import NCFRecommender
from .datasets import make_interactions
from .model_selection import LeaveLastOut


def run_demo(
    *, n_users=600, n_items=300, architecture="gmf", epochs="auto", random_state=0, out=print
):
    """Fit on synthetic data and print what the model learned; return the metrics."""
    rng = np.random.default_rng(random_state)
    X, ratings, user_groups, item_groups = make_interactions(
        n_users, n_items, ratings=True, return_groups=True, random_state=random_state
    )
    train_rows, test_rows = next(LeaveLastOut(random_state=random_state).split(X))
    train, test = X[train_rows], X[test_rows]
    out(
        f"Synthetic data: {n_users} users, {n_items} items, {len(X)} interactions in "
        f"{len(np.unique(user_groups))} taste groups; {len(test)} held out (one per user)."
    )

    tic = time.perf_counter()
    rec = NCFRecommender(architecture=architecture, epochs=epochs, random_state=random_state).fit(
        train
    )
    seconds = time.perf_counter() - tic
    out(f"\nImplicit feedback, {architecture}: fit {rec.epochs_} epochs in {seconds:.1f} s")
    ndcg = rec.score(test)
    top = rec.recommend(np.unique(train[:, 0]), k=10)
    in_group = float(np.mean(item_groups[top] == user_groups[np.unique(train[:, 0])][:, None]))
    chance = float(np.mean(item_groups[None, :] == user_groups[:, None]))
    out(f"  NDCG@10 of held-out items (full ranking): {ndcg:.3f}")
    out(
        f"  share of top-10 items from the user's taste group: {in_group:.2f} (chance {chance:.2f})"
    )
    for user in np.unique(train[:, 0])[:3]:
        items = rec.recommend([user], k=5)[0]
        out(
            f"  user {user} (group {user_groups[user]}): recommended items {items.tolist()} "
            f"from groups {item_groups[items].tolist()}"
        )

    explicit_train = rng.random(len(X)) >= 0.2
    tic = time.perf_counter()
    reg = NCFRecommender(
        architecture=architecture,
        feedback="explicit",
        epochs=epochs,
        handle_unknown="ignore",
        random_state=random_state,
    ).fit(X[explicit_train], ratings[explicit_train])
    r2 = reg.score(X[~explicit_train], ratings[~explicit_train])
    out(f"\nExplicit feedback (ratings 1-5): fit in {time.perf_counter() - tic:.1f} s")
    out(f"  R^2 on {int((~explicit_train).sum())} held-out ratings: {r2:.3f}")
    return {"ndcg@10": ndcg, "in_group_share": in_group, "chance_share": chance, "r2": r2}
