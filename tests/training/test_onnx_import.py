"""`mogents export checkpoints`: torch checkpoints rebuilt from an exported generator folder hold exactly the
weights that were exported, so a run can continue on a machine that has only the committed folder."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (training extra)")

from backend.cli.main import main  # noqa: E402
from tests.training.test_onnx_export import exported_generator  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# Filled by the VQ while it trains and never read by encode or decode, so an export does not hold them.
EMA_ONLY = ("cluster_size", "embed_avg", "ema")


def _cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), one_torch_thread():
        code = main(args)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    folder, ckpts, _ = exported_generator(tmp_path_factory.getbasetemp())
    out = tmp_path_factory.mktemp("rebuilt")
    code, text = _cli(["export", "checkpoints", str(folder), "--out", str(out)])
    assert code == 0, text
    return folder, ckpts, out, text


@pytest.mark.parametrize("kind", ["vq", "mask", "residual", "length"])
def test_every_rebuilt_weight_equals_the_exported_one(rebuilt, kind):
    _, ckpts, out, text = rebuilt
    assert f"{kind}: {out / kind / 'model.pt'}" in text
    original = torch.load(ckpts[kind], weights_only=False)
    again = torch.load(out / kind / "model.pt", weights_only=False)
    assert again["kind"] == kind and sorted(again["model"]) == sorted(original["model"])
    compared = 0
    for key, value in original["model"].items():
        if not value.is_floating_point() or any(k in key for k in EMA_ONLY):
            continue
        assert torch.equal(again["model"][key], value), key
        compared += 1
    assert compared >= 8


def test_rebuilt_checkpoints_load_train_and_export_again(rebuilt, tmp_path):
    """The rebuilt transformers name the rebuilt VQ, and exporting them again gives the same graphs."""
    from training.export.onnx_import import _initializers
    from training.train.generator_tasks import load_checkpoint, load_vq

    folder, _, out, _ = rebuilt
    mask = load_checkpoint(out / "mask" / "model.pt", "mask")
    assert Path(mask["meta"]["vq_path"]) == out / "vq" / "model.pt"
    assert mask["meta"]["text"]["condition"] == "sentence" and mask["meta"]["imported_from"] == str(folder)
    vq, norm, _ = load_vq(out / "vq" / "model.pt")
    assert norm.dim == 263
    code, text = _cli(["export", "onnx", "--mask", str(out / "mask" / "model.pt"), "--residual",
                       str(out / "residual" / "model.pt"), "--length", str(out / "length" / "model.pt"),
                       "--out", str(tmp_path / "again"), "--name", "again"])
    assert code == 0, text
    for graph in ("mask_transformer", "residual_transformer", "vq_encoder", "vq_decoder", "length_estimator"):
        a, b = _initializers(folder / f"{graph}.onnx"), _initializers(tmp_path / "again" / f"{graph}.onnx")
        assert a.keys() == b.keys(), graph
        assert all((a[k] == b[k]).all() for k in a), graph


def test_a_folder_that_is_not_a_generator_is_refused(tmp_path):
    code, text = _cli(["export", "checkpoints", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 2 and "not a generator folder" in text
    assert not (tmp_path / "out").exists()


def test_a_graph_that_does_not_fit_the_description_is_refused(rebuilt, tmp_path):
    folder = tmp_path / "swapped"
    shutil.copytree(rebuilt[0], folder)
    # the residual graph where the mask graph belongs: its initializers cannot be the mask transformer's
    shutil.copy(folder / "residual_transformer.onnx", folder / "mask_transformer.onnx")
    code, text = _cli(["export", "checkpoints", str(folder), "--out", str(tmp_path / "out")])
    assert code == 2 and "cannot rebuild checkpoints" in text and "mask" in text
    assert not (tmp_path / "out" / "mask").exists()


@pytest.mark.slow
def test_the_shipped_default_can_be_trained_on(tmp_path):
    """The committed default's graphs still map onto this model code (ONNX Runtime parity is checked inside)."""
    from training.export.onnx_import import import_generator

    with one_torch_thread():
        written = import_generator(REPO / "backend" / "models" / "default", tmp_path)
    assert sorted(written) == ["length", "mask", "residual", "vq"]
    assert all(p.stat().st_size > 10_000 for p in written.values())
