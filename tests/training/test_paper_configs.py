"""The paper-size configs: two layouts (the paper's per-joint tokens, the public code's parts + aux stream)
for HumanML3D and KIT-ML, each with REFERENCE §2's hyperparameters, all readable by the trainers."""

import tomllib
from pathlib import Path

import pytest

pytest.importorskip("torch")

from training.models.transformer2d import Transformer2DConfig  # noqa: E402
from training.models.vqvae import MotionVQVAE, VQVAEConfig  # noqa: E402
from training.train.loop import TrainConfig  # noqa: E402

PAPER = Path(__file__).resolve().parents[2] / "training" / "configs" / "paper"
VARIANTS = [(ds, var) for ds in ("humanml3d", "kit") for var in ("paper", "public")]


def _load(name: str) -> dict:
    return tomllib.loads((PAPER / f"{name}.toml").read_text())


@pytest.mark.parametrize("ds, var", VARIANTS)
def test_vq_config_has_the_reference_recipe(ds, var):
    c = _load(f"{ds}_{var}_vq")
    cfg = VQVAEConfig(**c["model"])
    TrainConfig.from_dict(c["train"])
    assert (cfg.width, cfg.num_codes, cfg.num_quantizers, cfg.quantize_dropout) == (512, 256, 6, 0.2)
    assert cfg.feature_dim == (263 if ds == "humanml3d" else 251)
    assert c["data"]["feat_bias"] == 5.0 and c["data"]["window"] == 64 and c["train"]["batch_size"] == 256
    assert c["train"]["lr"] == 2e-4 and c["loss"] == {"joint_position": 0.5, "commit": 0.02}
    if var == "paper":  # one token column per joint, the root inside its own token
        assert cfg.joint_down == 0 and cfg.root_stream == "token"
    else:  # 6 body-part groups plus the auxiliary whole-body stream
        assert cfg.joint_down == 2 and cfg.joint_order == "parts" and cfg.root_stream == "aux"
    columns = {("humanml3d", "paper"): 22, ("kit", "paper"): 21}.get((ds, var), 7)
    small = VQVAEConfig(**{**c["model"], "width": 16, "code_dim": 16, "depth": 1})
    assert MotionVQVAE(small).token_columns == columns


@pytest.mark.parametrize("ds, var", VARIANTS)
@pytest.mark.parametrize("kind", ["mask", "residual"])
def test_transformer_configs_match_the_paper(ds, var, kind):
    c = _load(f"{ds}_{var}_{kind}")
    model = {k: v for k, v in c["model"].items() if k != "vq"}
    model["attention"] = tuple(model["attention"])
    cfg = Transformer2DConfig(**model)
    TrainConfig.from_dict(c["train"])
    assert (cfg.dim, cfg.heads, cfg.layers, cfg.ff, cfg.dropout) == (384, 6, 8, 1024, 0.2)
    assert cfg.attention == ("2d", "spatial", "temporal") and cfg.cond_drop == 0.1
    assert c["model"]["vq"] == f"runs/{ds}_{var}_vq/model.pt"
    assert c["text"]["encoder"] == "clip" and c["train"]["lr"] == 2e-4 and c["train"]["warmup"] == 2000
