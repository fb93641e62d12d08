"""Rebuild torch checkpoints from an exported generator folder, so a later session can keep training it.

Only exported folders are committed, and every session may run on a fresh machine, so the exported ONNX
graphs are the one copy of the trained weights that survives. The dynamo exporter keeps most parameter
names but stores some weights under generated names (transposed for MatMul, or reshaped). To recover
the mapping without reading the graph's structure, the same module is exported once more with distinct
random weights; each initializer of that probe export is matched by value to the parameter it came from
(as is, transposed, or reshaped), and the mapping is applied to the shipped graph's initializers of the
same names. The rebuilt modules are then checked against the shipped graphs in ONNX Runtime, so a
mapping that went wrong cannot pass silently.

    mogents export checkpoints FOLDER --out DIR   ->  DIR/{vq,mask,residual,length}/model.pt

The checkpoints hold weights and meta only (no optimiser state); `[train] init` starts a run from them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.runtime.model_folder import META_FILE
from training.models.transformer2d import LengthEstimator, MaskTransformer2D, ResidualTransformer2D, Transformer2DConfig
from training.models.vqvae import MotionVQVAE, VQVAEConfig
from training.train.loop import _save_atomic

from . import onnx_export as ox

# Largest difference allowed between the rebuilt module and the shipped graph (float outputs; for ids, the
# share that may differ, i.e. near-ties of the nearest-code search).
PARITY_TOLERANCE = 1e-3
Exporter = Callable[[nn.Module, Path], object]  # writes a module's graph as the shipped one was written


def _initializers(path: Path) -> dict[str, np.ndarray]:
    return _graph(path)[0]


def _graph(path: Path) -> tuple[dict[str, np.ndarray], dict[str, list[tuple[str, int]]], dict[tuple[str, int], str]]:
    """(initializers by name, each initializer's uses as (node name, input slot), the input name of each slot)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    uses: dict[str, list[tuple[str, int]]] = {}
    slots: dict[tuple[str, int], str] = {}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            slots[(node.name, slot)] = name
            if name in inits:
                uses.setdefault(name, []).append((node.name, slot))
    return inits, uses, slots


def _shipped_value(name: str, shape: tuple, probe_uses: dict, real: tuple) -> np.ndarray | None:
    """The shipped graph's tensor for the probe's initializer `name`: by name, or else through the node slot
    that reads it (the exporter keeps one copy of initializers with equal values, e.g. an untrained
    model's zero biases, and points every user at it)."""
    inits, _, slots = real
    if name in inits and inits[name].shape == shape:
        return inits[name]
    for use in probe_uses.get(name, []):
        other = slots.get(use)
        if other in inits and inits[other].shape == shape:
            return inits[other]
    return None


def _randomise(module: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Give every floating tensor of the state dict distinct random values; the new state dict."""
    g = torch.Generator().manual_seed(seed)
    state = {k: (torch.rand(v.shape, generator=g) + 0.5 if v.is_floating_point() else v)
             for k, v in module.state_dict().items()}
    module.load_state_dict(state)
    return state


def _match(array: np.ndarray, state: dict[str, torch.Tensor]) -> tuple[str, bool, int | None] | None:
    """(key, transposed, index) of the state-dict tensor this probe initializer holds: whole (index None),
    transposed, or one slice `value[index]` (the exporter folds a small table's per-row lookups into one
    constant each); None for a derived constant."""
    for key, value in state.items():
        if not value.is_floating_point() or value.numel() < 2:
            continue
        v = value.numpy()
        if v.size == array.size:
            if np.array_equal(v.reshape(array.shape), array):
                return key, False, None
            if v.ndim == 2 and np.array_equal(v.T.reshape(array.shape), array):
                return key, True, None
        elif v.ndim >= 2 and v[0].size == array.size:
            for i in range(v.shape[0]):
                if np.array_equal(v[i].reshape(array.shape), array):
                    return key, False, i
    return None


def recover_state(module: nn.Module, export: Exporter | list[Exporter], shipped: list[Path],
                  prefix: str = "", seed: int = 0) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The state dict of `module` as stored in the shipped graph(s), and the keys none of them holds.

    `export(module, path)` writes the probe graph the same way the shipped one was written; one module
    may be spread over several graphs (the VQ's encoder and decoder), each exported by its own function,
    so `export` and `shipped` pair up when given as lists of equal length.
    """
    exports = export if isinstance(export, list) else [export]
    if len(exports) != len(shipped):
        raise ValueError("one export function per shipped graph")
    probe_state = _randomise(module, seed)
    recovered: dict[str, torch.Tensor] = {}
    rows: dict[str, dict[int, np.ndarray]] = {}  # tensors found one slice at a time
    with tempfile.TemporaryDirectory() as tmp:
        for i, (fn, graph) in enumerate(zip(exports, shipped, strict=True)):
            probe = Path(tmp) / f"probe{i}.onnx"
            fn(module, probe)
            probe_inits, probe_uses, _ = _graph(probe)
            real = _graph(graph)
            for name, array in probe_inits.items():
                key = name[len(prefix):] if name.startswith(prefix) and name[len(prefix):] in probe_state else None
                transposed, index = False, None
                if key is None or probe_state[key].numel() != array.size or not np.array_equal(
                        probe_state[key].numpy().reshape(array.shape), array):
                    found = _match(array, probe_state)
                    if found is None:
                        continue
                    key, transposed, index = found
                shipped_value = _shipped_value(name, array.shape, probe_uses, real)
                if shipped_value is None:
                    raise ValueError(f"{graph.name}: initializer {name!r} differs from this exporter's; "
                                     "the graph was written by another torch version or model code")
                target = probe_state[key]
                if index is not None:
                    rows.setdefault(key, {})[index] = shipped_value.reshape(target.shape[1:])
                    continue
                value = shipped_value.T if transposed else shipped_value
                recovered[key] = torch.from_numpy(np.ascontiguousarray(value).reshape(target.shape).copy())
    for key, found in rows.items():
        if key not in recovered and sorted(found) == list(range(probe_state[key].shape[0])):
            stacked = np.stack([found[i] for i in range(len(found))])
            recovered[key] = torch.from_numpy(stacked.astype(probe_state[key].numpy().dtype))
    missing = [k for k, v in probe_state.items() if v.is_floating_point() and k not in recovered]
    for key, value in probe_state.items():  # integer buffers (counters) carry no learnt values
        if not value.is_floating_point():
            recovered[key] = value
    return recovered, missing


def _ort_outputs(graph: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in names})[0]


def _check(name: str, graph: Path, module: nn.Module, feeds: dict[str, np.ndarray], args: tuple) -> float:
    with torch.no_grad():
        ours = module.eval()(*args)
    ref = _ort_outputs(graph, feeds)
    ours = ours.numpy()
    if ours.dtype.kind in "iu":
        diff = float((ours != ref).mean())
    else:
        diff = float(np.abs(ours - ref).max())
    if not diff <= PARITY_TOLERANCE:
        raise ValueError(f"{name}: the rebuilt module differs from {graph.name} by {diff:.3g}")
    return diff


def _load(module: nn.Module, state: dict, missing: list[str], allowed: tuple[str, ...], what: str) -> None:
    bad = [k for k in missing if not any(a in k for a in allowed)]
    if bad:
        raise ValueError(f"{what}: the exported graphs hold no values for {bad}")
    full = module.state_dict()
    full.update(state)
    module.load_state_dict(full)


def _write(out: Path, kind: str, model: nn.Module, metrics: dict, meta: dict) -> Path:
    """out/KIND/model.pt in the layout `save_model` writes."""
    path = out / kind / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_atomic({"kind": kind, "model": model.state_dict(), "metrics": metrics.get(kind, {}), "meta": meta}, path)
    return path


def import_generator(folder: str | Path, out_dir: str | Path, seed: int = 0) -> dict[str, Path]:
    """Write out_dir/{vq,mask,residual,length}/model.pt rebuilt from an exported generator folder."""
    folder, out = Path(folder), Path(out_dir)
    meta = json.loads((folder / META_FILE).read_text())
    mean = np.load(folder / "Mean.npy").astype(np.float32)
    std = np.load(folder / "Std.npy").astype(np.float32)
    normalizer = {"mean": mean.tolist(), "std": std.tolist()}
    text = meta["text"]
    text_meta = {"encoder": text.get("encoder", "minilm"), "path": None, "dim": int(text["dim"]),
                 "condition": text.get("condition", "sentence")}
    metrics = meta.get("metrics", {})
    origin = {"imported_from": str(folder), "name": meta.get("name")}
    rng = torch.Generator().manual_seed(seed)
    written: dict[str, Path] = {}

    # VQ: the encoder graph holds the encoder and codebooks, the decoder graph the decoder and codebooks
    vq = MotionVQVAE(VQVAEConfig(**meta["vq"]))
    state, missing = recover_state(
        vq, [lambda m, p: ox.export_vq_encoder(m, p), lambda m, p: ox.export_vq_decoder(m, p)],
        [folder / "vq_encoder.onnx", folder / "vq_decoder.onnx"], prefix="vq.", seed=seed)
    # EMA statistics update the codebooks only while training the VQ, which a frozen VQ never does
    _load(vq, state, missing, ("cluster_size", "embed_avg", "ema"), "vq")
    vq.eval()
    f = 8
    feats = torch.randn(2, f * vq.time_factor, vq.cfg.feature_dim, generator=rng)
    _check("vq encoder", folder / "vq_encoder.onnx", ox.VQEncoderGraph(vq), {"features": feats.numpy()}, (feats,))
    ids = ox.VQEncoderGraph(vq)(feats)
    _check("vq decoder", folder / "vq_decoder.onnx", ox.VQDecoderGraph(vq), {"ids": ids.numpy()}, (ids,))
    written["vq"] = _write(out, "vq", vq, metrics,
                           {"vq": vq.cfg.to_dict(), "normalizer": normalizer, "data_root": "", **origin})

    token_meta = {"vq_path": str(written["vq"]), "vq": vq.cfg.to_dict(), "normalizer": normalizer,
                  "text": text_meta, "data_root": "", **origin}
    gen = torch.Generator().manual_seed(seed + 1)

    mask = MaskTransformer2D(Transformer2DConfig.from_dict(meta["transformer"]))
    state, missing = recover_state(mask, lambda m, p: ox.export_mask_transformer(m, p),
                                   [folder / "mask_transformer.onnx"], seed=seed)
    _load(mask, state, missing, (), "mask transformer")
    cfg = mask.cfg
    b, fr = 3, 11
    m_ids = torch.randint(0, cfg.num_codes + 2, (b, fr, cfg.num_joints), generator=gen)
    t, valid, drop = ox._transformer_inputs(cfg, b, fr, gen)
    _check("mask transformer", folder / "mask_transformer.onnx", mask,
           {"ids": m_ids.numpy(), "text": t.numpy(), "frame_valid": valid.numpy(), "drop_text": drop.numpy()},
           (m_ids, t, valid, drop))
    written["mask"] = _write(out, "mask", mask, metrics, {"transformer": cfg.to_dict(), **token_meta})

    if "residual_transformer" in meta and (folder / "residual_transformer.onnx").is_file():
        rcfg = Transformer2DConfig.from_dict(meta["residual_transformer"])
        residual = ResidualTransformer2D(rcfg, meta["num_quantizers"])
        state, missing = recover_state(residual, lambda m, p: ox.export_residual_transformer(m, p),
                                       [folder / "residual_transformer.onnx"], seed=seed)
        _load(residual, state, missing, (), "residual transformer")
        q = residual.num_quantizers
        r_ids = torch.randint(0, rcfg.num_codes, (b, fr, rcfg.num_joints, q), generator=gen)
        layer = torch.randint(1, max(q, 2), (b,), generator=gen)
        t, valid, drop = ox._transformer_inputs(rcfg, b, fr, gen)
        _check("residual transformer", folder / "residual_transformer.onnx", residual,
               {"ids": r_ids.numpy(), "layer": layer.numpy(), "text": t.numpy(), "frame_valid": valid.numpy(),
                "drop_text": drop.numpy()}, (r_ids, layer, t, valid, drop))
        written["residual"] = _write(out, "residual", residual, metrics,
                                     {"transformer": rcfg.to_dict(), **token_meta})

    lmeta = meta["length"]
    length = LengthEstimator(**lmeta["length"])
    text_dim = int(lmeta["length"]["text_dim"])
    state, missing = recover_state(length, lambda m, p: ox.export_length_estimator(m, text_dim, p),
                                   [folder / "length_estimator.onnx"], seed=seed)
    _load(length, state, missing, (), "length estimator")
    lt = nn.functional.normalize(torch.randn(4, text_dim, generator=gen), dim=-1)
    _check("length estimator", folder / "length_estimator.onnx", length, {"text": lt.numpy()}, (lt,))
    written["length"] = _write(out, "length", length, metrics,
                               {"length": lmeta["length"], "unit": lmeta["unit"], "fps": lmeta["fps"],
                                "text": {**text_meta, "condition": "sentence"}, **origin})
    return written
