"""Training tasks of the generator: VQ-VAE, mask transformer, residual transformer, length estimator.

Each task is built from a config dict with [data], [model] and [train] sections (see
`training/configs/*.toml`). Transformers load a trained VQ-VAE (`[model] vq = "runs/.../model.pt"`),
tokenise motions on the fly with it (frozen) and take the VQ's normaliser, so that every model of one
generator shares one feature normalisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from backend.motion.features import FeatureLayout, features_to_joints
from backend.motion.mirror import mirror_caption
from backend.runtime.text_condition import SENTENCE, SENTENCE_SIDE, check_kind, condition_dim, text_condition
from training.data.collate import collate, trim_to_longest
from training.data.layout_reader import load_features
from training.data.normalize import Normalizer
from training.data.source import open_source
from training.data.text_motion import TextMotionDataset
from training.data.token_cache import TokenCropDataset, load_or_build
from training.data.windows import MotionWindowDataset
from training.eval.metrics import mpjpe
from training.models.masking import bert_corrupt, sample_mask
from training.models.text_encoder import SentenceEncoder
from training.models.transformer2d import LengthEstimator, MaskTransformer2D, ResidualTransformer2D, Transformer2DConfig
from training.models.vqvae import MotionVQVAE, VQVAEConfig


def normalizer_meta(norm: Normalizer) -> dict:
    return {"mean": norm.mean.tolist(), "std": norm.std.tolist()}


def normalizer_from_meta(meta: dict) -> Normalizer:
    return Normalizer(np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32))


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict:
    """A model.pt written by `save_model` (or a last.pt), checked for its kind, with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for truncated or foreign files
        raise ValueError(f"{path} is not a readable checkpoint: {err}") from None
    if not isinstance(state, dict) or "model" not in state or "meta" not in state:
        raise ValueError(f"{path} is not a mogents checkpoint")
    if kind is not None and state.get("kind") != kind:
        raise ValueError(f"{path} holds a {state.get('kind')!r} model, expected {kind!r}")
    return state


def load_vq(path: str | Path) -> tuple[MotionVQVAE, Normalizer, dict]:
    state = load_checkpoint(path, "vq")
    model = MotionVQVAE(VQVAEConfig(**state["meta"]["vq"]))
    model.load_state_dict(state["model"])
    return model.eval(), normalizer_from_meta(state["meta"]["normalizer"]), state["meta"]


def _sentence_encoder(config: dict) -> tuple[SentenceEncoder, dict]:
    """The frozen text encoder named in [text] and its description for the checkpoint's meta."""
    text = config.get("text", {})
    kind, path = text.get("encoder", "minilm"), text.get("path")
    encoder = SentenceEncoder(kind, path)
    return encoder, {"encoder": kind, "path": path, "dim": encoder.dim}


def _data_root(config: dict) -> Path:
    root = Path(config["data"]["root"])
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root} (make one with `mogents data synth`)")
    return root


# --------------------------------------------------------------------------------------------- VQ-VAE

class VQTask:
    kind = "vq"

    def __init__(self, config: dict, seed: int = 0):
        self.config, self.seed = config, seed
        self.root = _data_root(config)
        self.cfg = VQVAEConfig(**config.get("model", {}))
        self.window = int(config["data"].get("window", 64))
        self.pos_weight = float(config.get("loss", {}).get("joint_position", 0.5))
        self.commit_weight = float(config.get("loss", {}).get("commit", 0.02))
        self.eval_clips = int(config["data"].get("eval_clips", 100))
        # [data] feat_bias = 5: the reference recipe's up-weighting of the root (0:4) and contact dims in
        # the VQ's normaliser (their std divided by it); the transformers inherit the VQ's normaliser
        self.feat_bias = float(config["data"].get("feat_bias", 1.0))
        self._train = MotionWindowDataset(self.root, "train", window=self.window, stride=4, seed=seed,
                                          feat_bias=self.feat_bias)
        self.normalizer = self._train.normalizer
        self.layout = FeatureLayout(22 if self.cfg.feature_dim == 263 else 21)

    def build_model(self) -> nn.Module:
        torch.manual_seed(self.seed)
        return MotionVQVAE(self.cfg)

    def train_dataset(self):
        return self._train

    def collate(self, items):
        return torch.stack([it["motion"] for it in items])

    def loss(self, model, batch, step):
        recon, _, commit = model(batch)
        recon = recon.float()
        rec = F.smooth_l1_loss(recon, batch)
        pos = F.smooth_l1_loss(recon[..., self.layout.ric], batch[..., self.layout.ric])
        return {"loss": rec + self.pos_weight * pos + self.commit_weight * commit, "recon": rec,
                "joint_pos": pos, "commit": commit}

    def evaluate(self, model) -> dict:
        return vq_reconstruction(model, self.normalizer, self.root, "val", self.eval_clips)

    def meta(self) -> dict:
        return {"vq": self.cfg.to_dict(), "normalizer": normalizer_meta(self.normalizer),
                "data_root": str(self.root)}


@torch.no_grad()
def vq_reconstruction(model: MotionVQVAE, norm: Normalizer, root: Path, split: str, max_clips: int) -> dict:
    """Root-aligned and global MPJPE (mm) of whole clips encoded and decoded through all quantisers."""
    src = open_source(root, split, None, normalizer=norm)
    ids = [i for i in src.ids if not i.startswith("M")][:max_clips] or src.ids[:max_clips]
    unit = model.time_factor
    errs, global_errs, perplex = [], [], []
    for clip_id in ids:
        feats = load_features(root / "new_joint_vecs" / f"{clip_id}.npy", src.config.feature_dim)
        t = (len(feats) // unit) * unit
        if t < unit:
            continue
        x = torch.from_numpy(norm.normalize(feats[:t]))[None]
        tokens = model.encode(x)
        rec = norm.denormalize(model.decode(tokens)[0].numpy())
        true_j, rec_j = features_to_joints(feats[:t]), features_to_joints(rec)
        global_errs.append(mpjpe(rec_j, true_j, root_aligned=False))
        errs.append(mpjpe(rec_j, true_j))
        perplex.append(model.quantizer.layers[0].perplexity(tokens[..., 0]))
    return {"mpjpe_mm": float(np.mean(errs)), "global_mpjpe_mm": float(np.mean(global_errs)),
            "perplexity_q0": float(np.mean(perplex))}


# ------------------------------------------------------------------------------------- transformers

class _TokenTask:
    """Shared data path of the transformers: captions -> sentence embeddings, motions -> VQ tokens."""

    kind = ""

    def __init__(self, config: dict, seed: int = 0):
        self.config, self.seed = config, seed
        self.root = _data_root(config)
        model_cfg = dict(config.get("model", {}))
        self.vq_path = str(model_cfg.pop("vq"))
        self.vq, self.normalizer, self.vq_meta = load_vq(self.vq_path)
        for p in self.vq.parameters():
            p.requires_grad_(False)
        self.text, self.text_meta = _sentence_encoder(config)
        # [text] condition = "sentence+side": the sentence embedding plus the side code of its mirrored caption
        self.condition = check_kind(config.get("text", {}).get("condition", SENTENCE))
        self.text_meta = {**self.text_meta, "condition": self.condition}
        self.model_cfg = model_cfg
        self._train = TextMotionDataset(self.root, "train", normalizer=self.normalizer, seed=seed)
        self._val = TextMotionDataset(self.root, "val", normalizer=self.normalizer, seed=seed + 1,
                                      random_crop=False)
        self.columns = self.vq.token_columns
        self.time_factor = self.vq.time_factor
        self.max_frames = self._train.config.max_motion_length // self.time_factor
        # [masking] spatial = false: the ablation that masks whole time steps only (all joints of a frame)
        self.spatial_masking = bool(config.get("masking", {}).get("spatial", True)) and self.columns > 1
        # [data] token_cache = false: encode every batch with the VQ (the path before the cache)
        self.token_cache_path: Path | None = None
        self._train_items = self._train
        if bool(config["data"].get("token_cache", True)):
            maps, self.token_cache_path = load_or_build(self.vq, self.vq_path, self._train, self.time_factor,
                                                        config["data"].get("cache_dir"), progress=True)
            self._train_items = TokenCropDataset(self._train, maps, self.time_factor)
            self._train.release_motions()  # training reads only the token maps (validation keeps its motions)
        # every caption once, in large batches (and from the disk cache of this text model when present)
        if bool(config.get("text", {}).get("precompute", True)):
            texts = [c.text for ds in (self._train, self._val) for e in ds.entries for c in e.captions]
            if self.condition == SENTENCE_SIDE:  # the side code also embeds each caption with its sides swapped
                texts += [mirror_caption(t) for t in texts]
            self.text.precompute(texts, config["data"].get("cache_dir"))

    def transformer_config(self) -> Transformer2DConfig:
        cfg = dict(self.model_cfg)
        if "attention" in cfg:
            cfg["attention"] = tuple(cfg["attention"])
        return Transformer2DConfig(num_codes=self.vq.cfg.num_codes, num_joints=self.columns,
                                   max_frames=self.max_frames, text_dim=condition_dim(self.condition, self.text.dim),
                                   **cfg)

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """(B, condition_dim) text conditions, as the runtimes build them (`backend.runtime.text_condition`)."""
        return torch.from_numpy(text_condition(lambda t: self.text.encode(t).float().numpy(), texts, self.condition))

    def train_dataset(self):
        return self._train_items

    def collate(self, items):
        if "ids" in items[0]:  # cached token maps: cut the padded token axis to the longest item
            lengths = torch.tensor([it["length"] for it in items], dtype=torch.long)
            rows = int(lengths.max()) // self.time_factor
            return {"ids": torch.stack([it["ids"][:rows] for it in items]), "length": lengths,
                    "text": self.encode_text([it["text"] for it in items])}
        batch = trim_to_longest(collate(items))
        return {"motion": batch["motion"], "length": batch["length"], "text": self.encode_text(batch["text"])}

    @torch.no_grad()
    def tokens(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """VQ ids (B, F, J, Q) with pad beyond each length, token lengths (B,), frame_valid (B, F)."""
        if "ids" in batch:
            ids = batch["ids"]
        else:
            self.vq.to(batch["motion"].device)
            with torch.autocast(batch["motion"].device.type, enabled=False):
                ids = self.vq.encode(batch["motion"])
            if ids.dim() == 3:  # body1d: (B, F, Q) -> one column
                ids = ids[:, :, None]
        lengths = batch["length"] // self.time_factor
        valid = torch.arange(ids.shape[1], device=ids.device)[None] < lengths[:, None]
        return ids, lengths, valid

    def meta(self) -> dict:
        return {"transformer": self.transformer_config().to_dict(), "vq_path": self.vq_path,
                "vq": self.vq_meta["vq"], "normalizer": self.vq_meta["normalizer"],
                "text": self.text_meta,
                "data_root": str(self.root)}

    def _val_batches(self, count: int = 4, size: int = 32):
        size = min(size, len(self._val))  # tiny datasets: one smaller batch
        for i in range(min(count, len(self._val) // size)):
            yield self.collate([self._val[j] for j in range(i * size, (i + 1) * size)])


class MaskTask(_TokenTask):
    kind = "mask"

    def build_model(self) -> nn.Module:
        torch.manual_seed(self.seed)
        return MaskTransformer2D(self.transformer_config())

    def _masked_loss(self, model, batch, generator=None):
        ids, lengths, valid = self.tokens(batch)
        base = ids[..., 0]
        cfg = self.transformer_config()
        mask = sample_mask(lengths, base.shape[1], base.shape[2], generator=generator,
                           spatial=self.spatial_masking)
        inp = bert_corrupt(base, mask, cfg.mask_id, cfg.num_codes, generator=generator)
        inp = torch.where(valid[..., None], inp, torch.full_like(inp, cfg.pad_id))
        logits = model(inp, batch["text"], valid).float()
        loss = F.cross_entropy(logits[mask], base[mask], label_smoothing=0.1)
        acc = (logits[mask].argmax(-1) == base[mask]).float().mean()
        return loss, acc

    def loss(self, model, batch, step):
        loss, acc = self._masked_loss(model, batch)
        return {"loss": loss, "masked_acc": acc}

    def evaluate(self, model) -> dict:
        g = torch.Generator().manual_seed(1234)
        losses, accs = zip(*[self._masked_loss(model, b, g) for b in self._val_batches()], strict=True)
        return {"val_loss": float(torch.stack(losses).mean()), "val_masked_acc": float(torch.stack(accs).mean())}


class ResidualTask(_TokenTask):
    kind = "residual"

    def build_model(self) -> nn.Module:
        torch.manual_seed(self.seed)
        return ResidualTransformer2D(self.transformer_config(), self.vq.cfg.num_quantizers)

    def _layer_loss(self, model, batch, generator=None):
        ids, _, valid = self.tokens(batch)
        b = ids.shape[0]
        layer = torch.randint(1, ids.shape[-1], (b,), generator=generator)
        target = ids.gather(-1, layer[:, None, None, None].expand(*ids.shape[:3], 1))[..., 0]
        logits = model(ids, layer, batch["text"], valid).float()
        sel = valid[..., None].expand_as(target)
        loss = F.cross_entropy(logits[sel], target[sel], label_smoothing=0.1)
        return loss, (logits[sel].argmax(-1) == target[sel]).float().mean()

    def loss(self, model, batch, step):
        loss, acc = self._layer_loss(model, batch)
        return {"loss": loss, "acc": acc}

    def evaluate(self, model) -> dict:
        g = torch.Generator().manual_seed(1234)
        losses, accs = zip(*[self._layer_loss(model, b, g) for b in self._val_batches()], strict=True)
        return {"val_loss": float(torch.stack(losses).mean()), "val_acc": float(torch.stack(accs).mean())}


class LengthTask:
    kind = "length"

    def __init__(self, config: dict, seed: int = 0):
        self.config, self.seed = config, seed
        self.root = _data_root(config)
        self.text, self.text_meta = _sentence_encoder(config)
        self.model_cfg = dict(config.get("model", {}))
        # whole clips: the length to predict is the caption's full length, not a random crop
        self._train = TextMotionDataset(self.root, "train", seed=seed, random_crop=False)
        self._val = TextMotionDataset(self.root, "val", seed=seed + 1, random_crop=False)
        self.unit = self._train.config.unit_length
        self.classes = self._train.config.max_motion_length // self.unit + 1

    def build_model(self) -> nn.Module:
        torch.manual_seed(self.seed)
        return LengthEstimator(self.text.dim, classes=self.classes, **self.model_cfg)

    def train_dataset(self):
        return self._train

    def collate(self, items):
        return {"text": self.text.encode([it["text"] for it in items]),
                "target": torch.tensor([it["length"] // self.unit for it in items])}

    def loss(self, model, batch, step):
        logits = model(batch["text"])
        return {"loss": F.cross_entropy(logits, batch["target"]),
                "acc": (logits.argmax(-1) == batch["target"]).float().mean()}

    def evaluate(self, model) -> dict:
        items = [self._val[i] for i in range(min(len(self._val), 512))]
        batch = self.collate(items)
        pred = model(batch["text"]).argmax(-1)
        err = (pred - batch["target"]).abs().float() * self.unit / self._train.config.fps
        return {"val_acc": float((pred == batch["target"]).float().mean()),
                "val_mean_abs_error_s": float(err.mean())}

    def meta(self) -> dict:
        return {"length": {"text_dim": self.text.dim, "classes": self.classes, **self.model_cfg},
                "unit": self.unit, "fps": self._train.config.fps,
                "text": self.text_meta}


TASKS = {"vq": VQTask, "mask": MaskTask, "residual": ResidualTask, "length": LengthTask}

