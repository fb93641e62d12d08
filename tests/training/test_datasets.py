"""HumanML3D / KIT-ML loaders on hand-written fixture folders in the real layout."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from backend.errors import MotionInputError  # noqa: E402
from tests.fixtures.humanml_layout import DEFAULT_TRAIN_ENTRIES, write_humanml_layout  # noqa: E402
from training.data import (  # noqa: E402
    HUMANML3D,
    MotionWindowDataset,
    Normalizer,
    TextMotionDataset,
    collate,
    crop_length,
    trim_to_longest,
)


def _entry_keys(ds):
    return {(e.clip_id, e.start): len(e.captions) for e in ds.entries}


def test_train_split_entries_follow_windows_and_length_rules(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=0)
    assert _entry_keys(ds) == DEFAULT_TRAIN_ENTRIES["humanml3d"]
    counts = ds.report.counts
    assert counts["clips_too_short"] == 1 and counts["clips_too_long"] == 1
    assert counts["windows_dropped"] == 2  # 0.5-1.5 s of 000001 and of M000001 (20 frames < 40)
    # the 1-4 s window of 000001 is frames 20:80 of the file
    window = next(e for e in ds.entries if e.clip_id == "000001" and e.start == 20)
    np.testing.assert_array_equal(window.motion, humanml_dataset.features["000001"][20:80])
    assert window.from_window and window.captions[0].text == "someone walks slowly."
    # a clip whose only caption has a window is not an entry itself
    assert ("000005", 0) not in _entry_keys(ds)


def test_length_rule_is_configurable(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", HUMANML3D.with_options(min_frames=20, max_frames=300),
                           seed=0)
    keys = _entry_keys(ds)
    assert ("000003", 0) in keys and ("000004", 0) in keys  # 30 and 210 frames now pass
    assert ("000001", 10) in keys                           # the 0.5-1.5 s window (20 frames) too
    item = ds[list(keys).index(("000004", 0))]
    assert item["length"] <= 196                             # still capped at max_motion_length


def test_items_are_cropped_padded_masked_and_normalised(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=3)
    mean = np.load(humanml_dataset.root / "Mean.npy")
    std = np.load(humanml_dataset.root / "Std.npy")
    for _ in range(4):
        for i, entry in enumerate(ds.entries):
            item = ds[i]
            n = item["length"]
            assert item["motion"].shape == (196, 263) and item["motion"].dtype == torch.float32
            assert n % 4 == 0 and entry.length - 8 < n <= entry.length
            assert item["mask"].dtype == torch.bool
            assert item["mask"].sum() == n and bool(item["mask"][:n].all())
            assert torch.all(item["motion"][n:] == 0)
            offset = item["start"] - entry.start
            assert 0 <= offset <= entry.length - n
            raw = humanml_dataset.features[item["clip_id"]][item["start"]:item["start"] + n]
            np.testing.assert_allclose(item["motion"][:n].numpy(), (raw - mean) / std, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(ds.denormalize(item["motion"][:n]).numpy(), raw, rtol=1e-4, atol=1e-4)


def test_crop_length_rule():
    assert crop_length(81, 4, 196) == 80
    assert crop_length(199, 4, 196) == 196
    assert crop_length(4, 4, 196, np.random.default_rng(0)) == 4  # never below one unit
    draws = [crop_length(81, 4, 196, np.random.default_rng(s)) for s in range(300)]
    assert set(draws) == {76, 80}
    assert 0.25 < draws.count(76) / len(draws) < 0.42  # the one-in-three extra unit
    assert crop_length(81, 10, 196, np.random.default_rng(0)) == 80  # no coin for unit_length >= 10


def test_fixed_crop_without_random_crop(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=0, random_crop=False)
    i = list(_entry_keys(ds)).index(("000002", 0))
    items = [ds[i] for _ in range(5)]
    assert all(it["length"] == 80 and it["start"] == 0 for it in items)


def test_caption_sampling_is_seeded(humanml_dataset):
    def captions(seed):
        ds = TextMotionDataset(humanml_dataset.root, "train", seed=seed)
        i = list(_entry_keys(ds)).index(("000002", 0))
        return [(ds[i]["text"], ds[i]["start"]) for _ in range(12)]

    first = captions(7)
    assert first == captions(7)
    assert first != captions(8)
    assert {t for t, _ in first} == {"a man strolls casually.", "a person marches in place.", "a person jogs."}
    gen_a = TextMotionDataset(humanml_dataset.root, "train", seed=np.random.default_rng(5))
    gen_b = TextMotionDataset(humanml_dataset.root, "train", seed=np.random.default_rng(5))
    assert [gen_a[0]["start"] for _ in range(6)] == [gen_b[0]["start"] for _ in range(6)]


def test_set_epoch_reproduces_draws_independent_of_access_order(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=11)
    ds.set_epoch(2)
    forward = [(ds[i]["text"], ds[i]["start"]) for i in range(len(ds))]
    ds.set_epoch(2)
    backward = [(ds[i]["text"], ds[i]["start"]) for i in reversed(range(len(ds)))][::-1]
    assert forward == backward


def test_item_tokens_and_mirrored_ids(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=0)
    i = list(_entry_keys(ds)).index(("M000001", 0))
    item = ds[i]
    assert item["text"] == "a person walks forward and waves the right hand."
    assert item["tokens"][:3] == ["a/DET", "person/NOUN", "walk/VERB"] and "right/ADJ" in item["tokens"]

    no_mirror = TextMotionDataset(humanml_dataset.root, "train", seed=0, include_mirrored=False)
    assert not any(e.clip_id.startswith("M") for e in no_mirror.entries)
    assert len(no_mirror) == len(ds) - 2


def test_splits(humanml_dataset):
    assert {e.clip_id for e in TextMotionDataset(humanml_dataset.root, "val").entries} == {"000006"}
    assert {e.clip_id for e in TextMotionDataset(humanml_dataset.root, "test").entries} == {"000007"}
    everything = TextMotionDataset(humanml_dataset.root, "all")
    assert {e.clip_id for e in everything.entries} == {"000001", "M000001", "000002", "000005", "000006",
                                                        "000007"}


def test_collate_and_trim(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["motion"].shape == (4, 196, 263) and batch["mask"].shape == (4, 196)
    assert batch["length"].dtype == torch.long and batch["length"].shape == (4,)
    assert isinstance(batch["text"], list) and isinstance(batch["tokens"][0], list)
    assert batch["clip_id"] == ["000001", "000001", "M000001", "M000001"]
    trimmed = trim_to_longest(batch)
    assert trimmed["motion"].shape[1] == int(batch["length"].max()) == trimmed["mask"].shape[1]


def test_stats_from_another_folder_and_feat_bias(humanml_dataset, tmp_path):
    other = tmp_path / "model_meta"
    other.mkdir()
    np.save(other / "Mean.npy", np.zeros(263, np.float32))
    np.save(other / "Std.npy", np.full(263, 2.0, np.float32))
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=0, stats_dir=other, random_crop=False)
    item = ds[0]
    raw = humanml_dataset.features["000001"][:item["length"]]
    np.testing.assert_allclose(item["motion"][:item["length"]].numpy(), raw / 2.0, rtol=1e-6)
    biased = Normalizer.from_dir(other, feat_bias=5.0)
    assert biased.std[0] == pytest.approx(0.4) and biased.std[262] == pytest.approx(0.4)
    assert biased.std[4] == pytest.approx(2.0)


def test_kit_layout(kit_dataset):
    ds = TextMotionDataset(kit_dataset.root, "train", seed=0)  # kind inferred from the 251-d Mean.npy
    assert ds.config.name == "kit" and ds.config.fps == 12.5
    assert _entry_keys(ds) == DEFAULT_TRAIN_ENTRIES["kit"]
    window = next(e for e in ds.entries if e.clip_id == "000001" and e.start == 12)
    assert window.length == 38  # frames int(1.0 * 12.5) : int(4.0 * 12.5)
    item = ds[0]
    assert item["motion"].shape == (196, 251) and item["length"] % 4 == 0
    with pytest.raises(MotionInputError, match="251 values but humanml3d"):
        TextMotionDataset(kit_dataset.root, "train", "humanml3d")


def test_window_dataset(humanml_dataset):
    ds = MotionWindowDataset(humanml_dataset.root, "train", window=64, seed=0)
    lengths = [len(humanml_dataset.features[i]) for i in humanml_dataset.splits["train"]]
    assert len(ds) == sum(n - 64 + 1 for n in lengths if n >= 64)
    assert "000003" not in ds.clip_ids  # 30 frames < window
    item = ds[len(ds) - 1]
    assert item["motion"].shape == (64, 263)
    assert item["start"] + 64 == len(humanml_dataset.features[item["clip_id"]])

    strided = MotionWindowDataset(humanml_dataset.root, "train", window=64, stride=16, seed=1)
    starts = [strided[i]["start"] for i in range(len(strided))]
    again = MotionWindowDataset(humanml_dataset.root, "train", window=64, stride=16, seed=1)
    assert starts == [again[i]["start"] for i in range(len(again))]
    for i in range(len(strided)):
        it = strided[i]
        assert it["start"] + 64 <= len(humanml_dataset.features[it["clip_id"]])
    batch = collate([ds[0], ds[1]])
    assert batch["motion"].shape == (2, 64, 263)


# --- errors: each names the offending path ---

def _raises(match, root, **kwargs):
    with pytest.raises(MotionInputError, match=match) as info:
        TextMotionDataset(root, **kwargs)
    return info.value


def test_missing_dataset_folder(tmp_path):
    err = _raises("dataset folder not found", tmp_path / "nope")
    assert err.path == str(tmp_path / "nope")


def test_missing_split_file(humanml_dataset):
    (humanml_dataset.root / "val.txt").unlink()
    err = _raises("split file", humanml_dataset.root, split="val")
    assert err.path.endswith("val.txt")


def test_missing_mean_or_std(humanml_dataset):
    (humanml_dataset.root / "Std.npy").unlink()
    err = _raises("statistics file not found", humanml_dataset.root)
    assert err.path.endswith("Std.npy")


def test_id_without_features_file(humanml_dataset):
    (humanml_dataset.root / "new_joint_vecs" / "000002.npy").unlink()
    err = _raises("features file is missing", humanml_dataset.root)
    assert err.path.endswith("000002.npy")


def test_wrong_feature_dims(humanml_dataset):
    np.save(humanml_dataset.root / "new_joint_vecs" / "000002.npy", np.zeros((80, 251), np.float32))
    err = _raises(r"shape \(T, 263\), got \(80, 251\)", humanml_dataset.root)
    assert err.path.endswith("000002.npy")


def test_nan_in_features(humanml_dataset):
    bad = humanml_dataset.features["000005"].copy()
    bad[17, 5] = np.nan
    np.save(humanml_dataset.root / "new_joint_vecs" / "000005.npy", bad)
    err = _raises("NaN or inf .first at frame 17", humanml_dataset.root)
    assert err.path.endswith("000005.npy")
    with pytest.raises(MotionInputError, match="NaN"):
        MotionWindowDataset(humanml_dataset.root, window=16)


def test_empty_after_filtering(tmp_path):
    layout = write_humanml_layout(tmp_path / "d", splits={"train": ["000003", "000004"]})
    err = _raises("no usable clips after length filtering", layout.root)
    assert "clips_too_short=1" in str(err) and err.path == str(layout.root)
    with pytest.raises(MotionInputError, match="no clip with at least 400 frames"):
        MotionWindowDataset(layout.root, "train", window=400)


def test_mean_std_size_mismatch(humanml_dataset):
    np.save(humanml_dataset.root / "Std.npy", np.ones(100, np.float32))
    _raises("Mean.npy has 263 values but Std.npy has 100", humanml_dataset.root)


def test_a_named_id_list_in_the_folder_is_a_split_and_other_names_are_refused(humanml_dataset):
    root = humanml_dataset.root
    train_ids = (root / "train.txt").read_text().split()
    (root / "test_eval.txt").write_text("\n".join(train_ids[::2]) + "\n")
    sub = TextMotionDataset(root, "test_eval", seed=0)
    assert {e.clip_id for e in sub.entries} <= set(train_ids[::2])
    assert len(sub.entries) < len(TextMotionDataset(root, "train", seed=0).entries)
    for bad in ("bogus", "../train", "train.txt"):
        with pytest.raises(MotionInputError, match="unknown split"):
            TextMotionDataset(root, bad)


def test_released_motions_keep_lengths_and_refuse_items(humanml_dataset):
    ds = TextMotionDataset(humanml_dataset.root, "train", seed=0)
    before = [(e.clip_id, e.start, e.length, e.captions) for e in ds.entries]
    ds.release_motions()
    assert [(e.clip_id, e.start, e.length, e.captions) for e in ds.entries] == before
    assert all(e.motion.strides[0] == 0 for e in ds.entries)  # no per-frame memory left
    with pytest.raises(RuntimeError, match="released"):
        ds[0]
