"""Each user seen through their latest interactions: skncf, EASE and ALS side by side.

The leave-last-out protocol asks what a user does *next*. A model fit on the whole log
represents each user by their whole history; with timestamps, each user can instead be
represented by their latest ``L`` train interactions only, with the model unchanged:

- skncf: ``NCFRecommender()`` fit on the whole log, users folded in from their latest
  ``L`` items (``rec.fold_in``), ranked against every item they have seen;
- EASE: the same item-item weights applied to the latest ``L`` items instead of all;
- ALS (implicit): user factors recomputed from the latest ``L`` items
  (``recalculate_user``), item factors unchanged.

``L = all`` is each model as usual. ``L`` is chosen per method on validation (each
user's latest train interaction held out, ``common.validation_split``), as are EASE's
lambda and ALS's regularization and alpha; the test set is only scored. Prints
full-ranking and sampled HR@10 / NDCG@10 per method and context.

    python benchmarks/recent_context.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/recent_context.py --data ../shared/data/ml-100k-loo/ml-100k

Needs ``pip install implicit``. "Latest" is
:func:`skncf.preprocessing.latest_interactions`': the rows with fewer than ``L`` later
ones of the same user (a burst of tied times at the cut is kept whole).
"""

import argparse

import numpy as np
import scipy.sparse as sp
from baselines import (
    ALS_GRID,
    EASE_LAMBDAS,
    _row,
    als_metrics,
    choose,
    ease_metrics,
    fit_als,
    fit_ease,
)
from common import (
    ProtocolArrays,
    data_option,
    print_table,
    required_data,
    train_matrix,
    validation_split,
)

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split
from skncf.preprocessing import latest_interactions

CONTEXTS = (3, 5, 10, 20, 50, None)  # None: the whole history


def latest_rows(split, n):
    """Mask of each user's ``n`` latest train rows (all rows for ``n=None``)."""
    if n is None:
        return np.ones(len(split.train), dtype=bool)
    return latest_interactions(split.train[:, 0], split.train_timestamps, n=n)


def context_matrix(split, n):
    """(users, all item ids) matrix of each user's ``n`` latest train items."""
    full = train_matrix(split)
    pairs = split.train[latest_rows(split, n)]
    return sp.csr_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=full.shape)


def skncf_scores(split, rec, n):
    """Scores of the test users from their ``n`` latest items, folded into ``rec``."""
    full = train_matrix(split)
    users = split.test[:, 0]
    scores = np.full((len(users), full.shape[1]), -np.inf, dtype=np.float32)
    if n is None:
        model, codes = rec, np.searchsorted(rec.users_, users)
    else:
        model = rec.fold_in(split.train[latest_rows(split, n)])
        codes = np.searchsorted(model.users_, users)
    for start, logits in model.catalog_logits(codes):
        scores[start : start + len(logits), rec.items_] = logits
    return scores


def ranked(split, scores):
    return ProtocolArrays(split, train_matrix(split)).evaluate(scores)


def methods(split, settings):
    """``{name: function(split, fitted, n) -> metrics}`` and what each fits once."""
    rec = NCFRecommender(random_state=0).fit(split.train)
    ease = fit_ease(split, settings["ease"])
    als = fit_als(split, *settings["als"])
    users = split.test[:, 0]

    def ease_from(n):
        context = context_matrix(split, n)
        return ranked(split, np.asarray(context[users] @ ease[1]))

    def als_from(n):
        factors = als.user_factors if n is None else _als_users(als, context_matrix(split, n))
        return ranked(split, factors[users] @ als.item_factors.T)

    return {
        "NCFRecommender()": lambda n: ranked(split, skncf_scores(split, rec, n)),
        f"EASE (lambda {settings['ease']:g})": ease_from,
        "ALS (64 f, reg {:g}, alpha {:g})".format(*settings["als"]): als_from,
    }


def _als_users(als, context):
    users = np.arange(context.shape[0])
    return np.asarray(als.recalculate_user(users, sp.csr_matrix(context)))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data_option(parser)
    args = parser.parse_args()
    required_data(args, parser)
    return args


def main():
    args = parse_args()
    split = load_ncf_split(args.data)
    validation = validation_split(split)
    print("choosing EASE's lambda and ALS's regularization and alpha on validation", flush=True)
    settings = {
        "ease": choose("EASE", EASE_LAMBDAS, fit_ease, ease_metrics, validation),
        "als": choose("ALS", ALS_GRID, fit_als, als_metrics, validation),
    }
    chosen = {}
    for name, scored in methods(validation, settings).items():
        by_context = {n: scored(n) for n in CONTEXTS}
        for n, found in by_context.items():
            print(f"  {name}, latest {n or 'all'}: validation {_row(found)}", flush=True)
        chosen[name] = max(CONTEXTS, key=lambda n: by_context[n]["full_ndcg"])
    rows = []
    for name, scored in methods(split, settings).items():
        for n in dict.fromkeys([None, chosen[name]]):
            found = scored(n)
            label = "whole history" if n is None else f"latest {n} (chosen on validation)"
            rows.append([name, label] + [f"{found[key]:.4f}" for key in _KEYS])
    print(f"\ntest set of {args.data}:")
    print_table(["method", "user from", "full HR@10", "full NDCG@10", "HR@10", "NDCG@10"], rows)


_KEYS = ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")


if __name__ == "__main__":
    main()
