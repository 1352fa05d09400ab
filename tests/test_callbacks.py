"""Keras callbacks, validation with early stopping, partial_fit and warm_start."""

import copy
import pickle
import warnings

import keras
import numpy as np
import pytest
from sklearn.base import clone

from skncf import NCFRecommender
from skncf.datasets import make_interactions

from .conftest import FAST


@pytest.fixture(scope="module")
def groups():
    X, _ = make_interactions(n_users=120, n_items=60, interactions_per_user=10, random_state=3)
    return X


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", self.model.name))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append((epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_custom_callback_sees_epochs_loss_and_validation_score(groups):
    recorder = Recorder()
    rec = NCFRecommender(
        architecture="gmf", validation_fraction=0.3, callbacks=[recorder], **{**FAST, "epochs": 3}
    ).fit(groups)
    assert recorder.events[0] == ("train_begin", "ncf_gmf")
    assert recorder.events[-1] == ("train_end",)
    epochs = recorder.events[1:-1]
    assert [e for e, _ in epochs] == [0, 1, 2]
    assert [logs["loss"] for _, logs in epochs] == pytest.approx(rec.history_["loss"])
    assert [logs["val_ndcg@10"] for _, logs in epochs] == pytest.approx(rec.history_["val_ndcg@10"])
    assert all(0 <= logs["val_ndcg@10"] <= 1 for _, logs in epochs)


def test_keras_early_stopping_stops_and_restores_the_best_weights(groups):
    stopper = keras.callbacks.EarlyStopping(
        monitor="loss", patience=1, min_delta=1e9, restore_best_weights=True
    )
    rec = NCFRecommender(architecture="gmf", callbacks=[stopper], **{**FAST, "epochs": 6}).fit(
        groups
    )
    # nothing improves by 1e9: stop after patience, weights of the first epoch restored
    assert len(rec.history_["loss"]) == 2
    assert stopper.best_epoch == 0


def test_validation_ranking_metric_is_the_estimators_score(groups):
    rec = NCFRecommender(architecture="gmf", validation_fraction=0.5, **{**FAST, "epochs": 2}).fit(
        groups
    )
    history = rec.history_["val_ndcg@10"]
    assert len(history) == 2 and all(0 <= v <= 1 for v in history)


def test_n_iter_no_change_keeps_the_best_epoch(groups, monkeypatch):
    from skncf._training import callbacks as _callbacks

    scores = iter([0.1, 0.3, 0.2, 0.25, 0.1, 0.05, 0.5])
    monkeypatch.setattr(_callbacks.Validation, "__call__", lambda self, graph: next(scores))
    weights = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(self.model.get_layer("item_embedding").get_weights()[0].copy())

    rec = NCFRecommender(
        architecture="gmf",
        validation_fraction=0.2,
        n_iter_no_change=2,
        callbacks=[Snapshot()],
        **{**FAST, "epochs": 7},
    ).fit(groups)
    # best 0.3 at epoch 2; epochs 3 and 4 do not beat it: stop after epoch 4
    assert rec.history_["val_ndcg@10"] == pytest.approx([0.1, 0.3, 0.2, 0.25])
    assert rec.n_iter_ == 4 and rec.epochs_ == 7
    np.testing.assert_array_equal(
        rec.model_.get_layer("item_embedding").get_weights()[0], weights[1]
    )
    unit = weights[1] / np.linalg.norm(weights[1], axis=1, keepdims=True)
    np.testing.assert_allclose(rec._scorer.unit_vectors("item"), unit, rtol=1e-6)


def test_early_stopping_needs_a_validation_set(groups):
    with pytest.raises(ValueError, match="n_iter_no_change needs a validation set"):
        NCFRecommender(n_iter_no_change=2, **FAST).fit(groups)
    with pytest.raises(ValueError, match="validation_fraction=0.001"):
        NCFRecommender(validation_fraction=0.001, **FAST).fit(groups)


def test_explicit_feedback_validates_r2():
    X, y = make_interactions(n_users=80, n_items=40, ratings=True, random_state=0)
    rec = NCFRecommender(
        architecture="gmf", feedback="explicit", validation_fraction=0.2, **FAST
    ).fit(X, y)
    assert len(rec.history_["val_r2"]) == 2 and all(v <= 1 for v in rec.history_["val_r2"])


def test_model_checkpoint_and_tensorboard_run(groups, tmp_path):
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "w{epoch}.weights.h5"), save_weights_only=True
    )
    board = keras.callbacks.TensorBoard(
        log_dir=str(tmp_path / "logs"),
        write_steps_per_second=True,  # reads the step count
    )
    rec = NCFRecommender(architecture="gmf", callbacks=[checkpoint, board], **FAST).fit(groups)
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["w1.weights.h5", "w2.weights.h5"]
    assert list((tmp_path / "logs").rglob("events.out.tfevents*"))
    restored = rec.model_
    restored.load_weights(str(tmp_path / "w2.weights.h5"))


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


@pytest.mark.parametrize("model", ["gmf", "neumf"])
def test_learning_rate_scheduler_sets_the_rate_later_epochs_train_at(groups, model):
    # a rate of 0 after the first epoch: Adam moves no weight, so three epochs leave the
    # weights of the first, as a fit stopped after it does
    halt = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate if epoch == 0 else 0.0)
    settings = {**FAST, "architecture": model, "epochs": 3, "random_state": 0}
    halted = NCFRecommender(callbacks=[halt], **settings).fit(groups)
    stopped = NCFRecommender(callbacks=[StopAfterFirstEpoch()], **settings).fit(groups)
    np.testing.assert_array_equal(halted.predict(groups[:50]), stopped.predict(groups[:50]))
    # the rates are logged, as Model.fit's History logs them
    assert halted.history_["learning_rate"] == pytest.approx([halted.learning_rate_, 0, 0])
    moving = NCFRecommender(**settings).fit(groups)
    assert not np.allclose(moving.predict(groups[:50]), stopped.predict(groups[:50]))


def test_reduce_lr_on_plateau_lowers_the_rate_and_the_next_fit_starts_afresh(groups):
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=1e9
    )
    rec = NCFRecommender(callbacks=[plateau], **{**FAST, "epochs": 4}).fit(groups)
    rates = rec.history_["learning_rate"]
    assert rates[0] == pytest.approx(rec.learning_rate_) and rates[-1] < rates[0] / 2
    assert rec.model_.optimizer is None  # the view of skncf's Adam lives while training
    rec.fit(groups)
    assert rec.history_["learning_rate"][0] == pytest.approx(rec.learning_rate_)


def test_backup_and_restore_resumes_an_interrupted_fit_where_it_stopped(groups, tmp_path):
    backup = keras.callbacks.BackupAndRestore(str(tmp_path))

    class Preempted(Recorder):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if epoch == 1:
                self.weights = self.model.get_layer("user_embedding").get_weights()[0]
                raise RuntimeError("preempted")

    class Restored(Recorder):
        def on_train_begin(self, logs=None):  # after BackupAndRestore's
            super().on_train_begin(logs)
            self.weights = self.model.get_layer("user_embedding").get_weights()[0]

    settings = {**FAST, "epochs": 4}
    preempted, restored = Preempted(), Restored()
    with pytest.raises(RuntimeError, match="preempted"):
        NCFRecommender(callbacks=[backup, preempted], **settings).fit(groups)
    rec = NCFRecommender(callbacks=[backup, restored], **settings).fit(groups)
    np.testing.assert_array_equal(restored.weights, preempted.weights)
    assert [event[0] for event in restored.events[1:-1]] == [2, 3]  # the epochs left
    assert rec.n_iter_ == 2 and len(rec.history_["loss"]) == 2
    # finished: the backup is gone, and the next fit runs every epoch
    assert NCFRecommender(callbacks=[backup], **settings).fit(groups).n_iter_ == 4


def test_an_estimator_whose_callbacks_ran_pickles_and_clones(groups, tmp_path):
    # after they ran, a CSVLogger holds a closed file and TensorBoard its writers, on
    # which pickling and cloning the estimator failed
    logger = keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "logs"))
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    rec = NCFRecommender(callbacks=[logger, board, stopper], **FAST).fit(groups)
    with pytest.warns(UserWarning, match="pickled without its callbacks CSVLogger, TensorBoard"):
        restored = pickle.loads(pickle.dumps(rec))
    np.testing.assert_array_equal(restored.predict(groups[:20]), rec.predict(groups[:20]))
    assert [type(callback) for callback in restored.callbacks] == [type(stopper)]
    twin = clone(rec)  # what cannot be copied is shared, the rest copied
    assert twin.callbacks[0] is logger and twin.callbacks[1] is board
    assert type(twin.callbacks[2]) is type(stopper) and twin.callbacks[2] is not stopper
    (tmp_path / "log.csv").unlink()
    twin.fit(groups)
    assert (tmp_path / "log.csv").read_text().startswith("epoch,loss")
    assert clone(NCFRecommender(callbacks=[stopper])).callbacks[0] is not stopper


def test_a_progbar_logger_shows_each_epochs_steps_and_loss(groups, capsys):
    # it printed nothing: the callbacks were told verbose=0, and no step count
    logger = keras.callbacks.ProgbarLogger()
    settings = {**FAST, "epochs": 2, "batch_size": 32}  # 32 users a step: 4 for 120
    rec = NCFRecommender(callbacks=[logger], **settings).fit(groups)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert f"loss: {rec.history_['loss'][-1]:.4f}" in out
    assert logger.target == 4 and "4/4" in out


def test_interrupted_fit_leaves_the_fitted_estimator_as_it_was(groups):
    rec = NCFRecommender(architecture="gmf", **FAST).fit(groups)
    before = rec.predict(groups[:20])

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rec.set_params(callbacks=[Interrupt()], latent_dim=4).fit(groups)
    assert rec.latent_dim == 4  # parameters are the user's; the fitted state is restored
    np.testing.assert_array_equal(rec.predict(groups[:20]), before)
    assert rec.model_.get_layer("user_embedding").get_weights()[0].shape[1] == 8


@pytest.mark.parametrize("model", ["gmf", "neumf", "seed"])
def test_partial_fit_makes_new_users_and_items_recommendable(groups, model):
    rec = NCFRecommender(architecture=model, **FAST).fit(groups)
    old_user_rows = rec.model_.get_layer("user_embedding").get_weights()[0].copy()
    new = np.array([[1000, 0], [1000, 1], [1000, 5000], [1001, 5000], [3, 5000]])
    rec.partial_fit(new)
    assert {1000, 1001} <= set(rec.users_.tolist()) and 5000 in rec.items_
    assert len(rec.history_["loss"]) == 1
    top = rec.recommend([1000, 1001], k=5)
    assert not {0, 1, 5000} & set(top[0].tolist())  # the new interactions count as seen
    assert 5000 not in top[1]
    assert 5000 not in rec.recommend([3], k=20)[0]
    assert rec.predict([[1000, 7], [3, 5000]]).shape == (2,)
    # old users keep their rows (moved to their codes), up to one epoch of training
    codes = np.searchsorted(rec.users_, np.unique(groups[:, 0]))
    moved = rec.model_.get_layer("user_embedding").get_weights()[0][codes]
    assert np.corrcoef(moved.ravel(), old_user_rows.ravel())[0, 1] > 0.9


def test_partial_fit_on_an_unfitted_estimator_is_one_epoch_of_fit(groups):
    a = NCFRecommender(architecture="gmf", **FAST).partial_fit(groups)
    b = NCFRecommender(architecture="gmf", **{**FAST, "epochs": 1}).fit(groups)
    np.testing.assert_allclose(a.predict(groups[:30]), b.predict(groups[:30]))


def test_partial_fit_trains_on_every_row_it_is_given(groups):
    # validation_fraction and early stopping are fit's: partial_fit holds nothing out
    held = NCFRecommender(architecture="gmf", validation_fraction=0.5, n_iter_no_change=1, **FAST)
    held.partial_fit(groups)
    plain = NCFRecommender(architecture="gmf", **FAST).partial_fit(groups)
    np.testing.assert_allclose(held.predict(groups[:30]), plain.predict(groups[:30]))
    assert set(held.history_) == {"loss"} and held.n_iter_ == 1
    held.partial_fit(groups[:50])
    assert held.n_iter_ == 1


def test_warm_start_continues_from_the_fitted_weights(groups):
    cold = NCFRecommender(architecture="gmf", **{**FAST, "epochs": 4}).fit(groups)
    warm = NCFRecommender(architecture="gmf", warm_start=True, **FAST).fit(groups)
    first = warm.history_["loss"]
    warm.fit(groups)
    assert warm.history_["loss"][0] < first[0]  # starts where the last fit ended
    assert warm.score(groups) == pytest.approx(cold.score(groups), abs=0.2)


def test_partial_fit_rejects_ids_of_another_kind(groups):
    rec = NCFRecommender(architecture="gmf", **FAST).fit(groups)
    before = rec.predict(groups[:5])
    with pytest.raises(TypeError, match="string user ids, but the model was fit on integer"):
        rec.partial_fit([["alice", 3]])
    np.testing.assert_array_equal(rec.predict(groups[:5]), before)


def test_partial_fit_of_float_labels_takes_integer_ids(groups):
    # models fit before a DataFrame's integer columns kept their type have float labels
    rec = NCFRecommender(architecture="gmf", **FAST).fit(groups.astype(float))
    rec.partial_fit(np.column_stack([[10**4, 10**4], groups[:2, 1]]))  # integers
    assert rec.users_.dtype == np.float64 and 10**4 in rec.users_
    assert rec.recommend([10**4], k=2).shape == (1, 2)


def test_validation_data_is_ranked_like_score(groups):
    from skncf.model_selection import LeaveLastOut

    train, held = next(LeaveLastOut(random_state=0).split(groups))
    rec = NCFRecommender(architecture="gmf", **FAST).fit(
        groups[train], validation_data=groups[held]
    )
    # after the last epoch, the validation score is the estimator's own score of those pairs
    assert rec.history_["val_ndcg@10"][-1] == pytest.approx(rec.score(groups[held]))
    unknown = np.vstack([groups[held], [[99999, 0]]])
    rec.fit(groups[train], validation_data=(unknown, np.ones(len(unknown))))
    assert rec.history_["val_ndcg@10"][-1] == pytest.approx(rec.score(unknown))


def test_validation_data_errors(groups):
    rec = NCFRecommender(architecture="gmf", validation_fraction=0.2, **FAST)
    with pytest.raises(ValueError, match="either validation_data to fit or validation_fraction"):
        rec.fit(groups, validation_data=groups[:5])
    with pytest.raises(ValueError, match="no pair whose user and item are in X"):
        NCFRecommender(**FAST).fit(groups, validation_data=[[99999, 99999]])
    with pytest.raises(ValueError, match="validation_data does not match X: X has 3 features"):
        NCFRecommender(**FAST).fit(groups, validation_data=np.zeros((3, 3), dtype=int))


def test_warm_start_with_another_architecture_is_refused(groups):
    rec = NCFRecommender(architecture="gmf", warm_start=True, **FAST).fit(groups)
    before = rec.predict(groups[:5])
    with pytest.raises(ValueError, match="must stay as they were at fit; latent_dim from 8 to 4"):
        rec.set_params(latent_dim=4).fit(groups)
    # graphs of the same weight shapes: gmf and neumf share the first layers; implicit and
    # explicit GMF have the very same weights (this continued silently before)
    for changed in [{"architecture": "neumf"}, {"feedback": "explicit"}, {"loss": "log"}]:
        rec.set_params(latent_dim=8, **changed)
        name, value = next(iter(changed.items()))
        with pytest.raises(ValueError, match=f"at fit; {name} from '[a-z]+' to '{value}'"):
            rec.partial_fit(groups, np.full(len(groups), 3.0))
        rec.set_params(architecture="gmf", feedback="implicit", loss="softmax")
    np.testing.assert_array_equal(rec.predict(groups[:5]), before)  # failed calls: no change
    rec.set_params(mlp_layers=(4,)).fit(groups)  # GMF has no tower: mlp_layers do not matter
    assert not np.array_equal(rec.predict(groups[:5]), before)  # trained on, not refused


def test_continued_explicit_fits_keep_their_rating_scale_and_say_so(ratings):
    # the sigmoid's range is fit's: a rating beyond it drove the logits without bound
    X, y = ratings[0], np.round(ratings[1])  # stars
    assert (y.min(), y.max()) == (1, 5)
    rec = NCFRecommender(architecture="gmf", feedback="explicit", **FAST).fit(X, y)
    beyond, within = copy.deepcopy(rec), copy.deepcopy(rec)
    high = np.where(np.arange(30) % 2, 9.0, y[:30])
    with pytest.warns(UserWarning, match=r"from [1-4] to 9, beyond the range \[1, 5\]") as caught:
        beyond.partial_fit(X[:30], high)
    assert [w.filename for w in caught] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        within.partial_fit(X[:30], np.minimum(high, 5))  # what the 9s are taken as
    np.testing.assert_allclose(beyond.predict(X[:50]), within.predict(X[:50]))
    warm = NCFRecommender(architecture="gmf", feedback="explicit", warm_start=True, **FAST)
    with pytest.warns(UserWarning, match=r"from 0 to 5, beyond the range \[1, 5\].*warm_st"):
        warm.fit(X, y).fit(X[:30], np.where(high > 5, 0.0, high))
