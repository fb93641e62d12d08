"""The fast training path: cached VQ token maps, cached text embeddings, bf16 autocast, `bench train`."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.data import token_cache  # noqa: E402
from training.data.text_motion import TextMotionDataset  # noqa: E402
from training.data.token_cache import TokenCropDataset, encode_entries, load_or_build  # noqa: E402
from training.train.generator_tasks import TASKS, load_vq  # noqa: E402
from training.train.loop import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from training.corpus.synth import write_corpus

    return write_corpus(tmp_path_factory.mktemp("corpus") / "c", clips=40, seed=1, workers=1, progress=False)


def _vq_config(root) -> dict:
    return {"data": {"root": str(root), "window": 32, "eval_clips": 4},
            "model": {"width": 32, "code_dim": 32, "num_codes": 32, "num_quantizers": 3, "joint_down": 2,
                      "root_stream": "aux", "depth": 1}}


@pytest.fixture(scope="module")
def vq_path(corpus, tmp_path_factory):
    run = tmp_path_factory.mktemp("vq")
    cfg = TrainConfig(steps=20, batch_size=16, lr=3e-3, warmup=2, log_every=5, checkpoint_every=20, seed=0)
    train(TASKS["vq"](_vq_config(corpus), seed=0), cfg, run, progress=False)
    return run / "model.pt"


def _mask_config(corpus, vq_path, **data) -> dict:
    return {"data": {"root": str(corpus), **data},
            "model": {"vq": str(vq_path), "dim": 32, "heads": 2, "layers": 1, "ff": 64, "dropout": 0.0}}


def test_cached_token_maps_equal_the_vq_encoding_of_each_entry(corpus, vq_path):
    task = TASKS["mask"](_mask_config(corpus, vq_path), seed=0)
    assert task.token_cache_path is not None and task.token_cache_path.is_file()
    vq, norm, _ = load_vq(vq_path)
    assert task._train.motions_released  # training reads the maps only; the features come from a fresh read
    fresh = TextMotionDataset(corpus, "train", normalizer=norm, seed=0)
    for i in (0, 5, len(task._train.entries) - 1):
        e = fresh.entries[i]
        assert (e.clip_id, e.start, e.length) == (task._train.entries[i].clip_id, task._train.entries[i].start,
                                                  task._train.entries[i].length)
        frames = e.length // task.time_factor * task.time_factor
        x = torch.from_numpy(norm.normalize(e.motion[:frames]).astype(np.float32))[None]
        assert torch.equal(task._train_items.maps[i].long(), vq.encode(x)[0])


def test_the_cache_is_read_back_and_keyed_by_the_vq_checksum(corpus, vq_path, tmp_path, monkeypatch):
    task = TASKS["mask"](_mask_config(corpus, vq_path, cache_dir=str(tmp_path)), seed=0)
    first = task.token_cache_path
    monkeypatch.setattr(token_cache, "encode_entries", lambda *a, **k: pytest.fail("re-encoded a cached dataset"))
    maps, again = load_or_build(task.vq, vq_path, task._train, task.time_factor, tmp_path)
    assert again == first and len(maps) == len(task._train.entries)
    monkeypatch.undo()
    other = tmp_path / "other_vq.pt"
    state = torch.load(vq_path, weights_only=False)
    state["model"] = {k: v + 1e-3 if v.is_floating_point() else v for k, v in state["model"].items()}
    torch.save(state, other)
    vq2, _, _ = load_vq(other)
    _, path2 = load_or_build(vq2, other, task._train, task.time_factor, tmp_path)
    assert path2 != first and path2.parent != first.parent  # another VQ, another folder


def test_token_crops_follow_the_loader_rules(corpus, vq_path):
    task = TASKS["mask"](_mask_config(corpus, vq_path), seed=0)
    items: TokenCropDataset = task.train_dataset()
    unit = task.time_factor
    for i in range(len(items)):
        it = items[i]
        n = it["length"] // unit
        assert it["length"] % unit == 0 and n >= 1
        assert (it["ids"][:n] >= 0).all() and (it["ids"][n:] == -1).all()
        full = items.maps[i].long()
        # the crop is a contiguous run of the whole clip's token map
        assert any(torch.equal(it["ids"][:n], full[o:o + n]) for o in range(len(full) - n + 1))
        assert it["text"] in [c.text for c in items.base.entries[i].captions]
    items.set_epoch(3)
    a = [items[i]["length"] for i in range(len(items))]
    items.set_epoch(3)
    assert a == [items[i]["length"] for i in range(len(items))]  # seeded


def test_both_paths_train_and_give_the_same_kind_of_batch(corpus, vq_path, tmp_path):
    for cache in (True, False):
        task = TASKS["mask"](_mask_config(corpus, vq_path, token_cache=cache), seed=0)
        batch = task.collate([task.train_dataset()[i] for i in range(4)])
        ids, lengths, valid = task.tokens(batch)
        assert ids.shape[:2] == valid.shape and ids.shape[2] == task.columns
        assert torch.equal(lengths, batch["length"] // task.time_factor)
        cfg = TrainConfig(steps=6, batch_size=8, lr=3e-3, warmup=1, log_every=1, checkpoint_every=6, seed=0,
                          bf16=True)
        metrics = train(task, cfg, tmp_path / f"run_{cache}", progress=False)
        assert np.isfinite(metrics["loss"]) and 0 <= metrics["val_masked_acc"] <= 1


def test_text_embeddings_are_cached_on_disk_per_text_model(tmp_path):
    from training.models.text_encoder import SentenceEncoder

    texts = ["a person walks forward", "someone jumps twice", "a person walks forward"]
    a = SentenceEncoder()
    assert a.precompute(texts, tmp_path) == 2
    files = list((tmp_path / "text").glob("*.pt"))
    assert len(files) == 1 and a.model_key() in files[0].name
    b = SentenceEncoder()
    assert b.precompute(texts, tmp_path) == 0  # all from disk
    assert torch.allclose(a.encode(texts), b.encode(texts))
    assert b.precompute(texts + ["a new caption"], tmp_path) == 1


def test_the_quantiser_stays_fp32_under_bf16_autocast(vq_path):
    vq, _, _ = load_vq(vq_path)
    x = torch.randn(2, 32, 263)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = vq.encode_latent(x)
        assert z.dtype == torch.bfloat16  # the convolutions run in bf16
        zq, ids, commit = vq.quantizer(z)
    assert zq.dtype == torch.float32 and commit.dtype == torch.float32
    assert torch.equal(ids, vq.quantizer.encode(z.float()))


def test_bench_train_cli_prints_both_paths(corpus, vq_path, tmp_path):
    config = tmp_path / "mask.toml"
    config.write_text(f'[data]\nroot = "{corpus}"\n[model]\nvq = "{vq_path}"\ndim = 32\nheads = 2\nlayers = 1\n'
                      'ff = 64\n[train]\nbatch_size = 8\nlr = 1e-3\n')
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "backend.cli.main", "bench", "train", "mask", "--config",
                           str(config), "--steps", "2", "--warmup", "1", "--rounds", "1", "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| before |" in proc.stdout and "| now |" in proc.stdout and "now / before" in proc.stdout
    rows = json.loads(out.read_text())
    for path in ("before", "now"):
        assert rows[path]["steps_per_s"] > 0 and rows[path]["peak_rss_mb"] > 50
    assert rows["speedup"] == pytest.approx(rows["now"]["steps_per_s"] / rows["before"]["steps_per_s"])


def test_encode_entries_groups_by_length_without_padding(corpus, vq_path):
    task = TASKS["mask"](_mask_config(corpus, vq_path, token_cache=False), seed=0)
    maps = encode_entries(task.vq, task._train, task.time_factor)
    assert all(len(m) == e.length // task.time_factor for m, e in zip(maps, task._train.entries, strict=True))
    assert all(m.dtype == torch.int16 for m in maps)


def test_bucketed_sampler_is_a_permutation_of_similar_length_batches_and_resumes():
    from training.train.loop import EpochSampler

    rng = np.random.default_rng(0)
    lengths = rng.integers(40, 197, size=203).tolist()
    s = EpochSampler(203, seed=5, lengths=lengths, batch_size=8, bucket=4)
    s.set_position(2, 0)
    order = list(s)
    assert sorted(order) == list(range(203))
    batches = [order[i:i + 8] for i in range(0, 200, 8)]
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    plain = EpochSampler(203, seed=5)
    plain.set_position(2, 0)
    p = list(plain)
    plain_spread = np.mean([np.ptp([lengths[i] for i in p[k:k + 8]]) for k in range(0, 200, 8)])
    assert spread < 0.5 * plain_spread  # batches hold similar lengths
    s.set_position(2, 16)
    assert list(s) == order[16:]  # resume skips exactly the batches seen
    s.set_position(3, 0)
    assert list(s) != order  # another epoch, another order


def test_vq_feat_bias_up_weights_root_and_contact_dims(corpus):
    from backend.motion.features import FeatureLayout

    plain = TASKS["vq"](_vq_config(corpus), seed=0).normalizer
    cfg = _vq_config(corpus)
    cfg["data"]["feat_bias"] = 5.0
    biased = TASKS["vq"](cfg, seed=0).normalizer
    lay = FeatureLayout(22)
    np.testing.assert_allclose(biased.std[lay.root], plain.std[lay.root] / 5, rtol=1e-6)
    np.testing.assert_allclose(biased.std[lay.contacts], plain.std[lay.contacts] / 5, rtol=1e-6)
    np.testing.assert_array_equal(biased.std[lay.ric], plain.std[lay.ric])


def test_keep_every_keeps_loadable_weights_with_their_training_time(corpus, vq_path, tmp_path):
    from training.train.generator_tasks import load_checkpoint

    task = TASKS["mask"](_mask_config(corpus, vq_path), seed=0)
    cfg = TrainConfig(steps=6, batch_size=8, lr=1e-3, warmup=1, log_every=1, checkpoint_every=3, keep_every=3,
                      seed=0, bf16=True)
    train(task, cfg, tmp_path, progress=False)
    kept = sorted((tmp_path / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in kept] == ["step_0000003.pt", "step_0000006.pt"]
    states = [load_checkpoint(p, "mask") for p in kept]
    assert 0 < states[0]["elapsed_s"] <= states[1]["elapsed_s"] and states[1]["step"] == 6
