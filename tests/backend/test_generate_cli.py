"""`mogents generate | edit | compose` end to end on exported ONNX generators (tiny, and the shipped one)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from backend.cli.main import main  # noqa: E402
from backend.generate.loader import DEFAULT_MODEL  # noqa: E402
from backend.motion.bvh import parse_bvh_text  # noqa: E402
from tests.training.test_onnx_export import exported_generator  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder, _, _ = exported_generator(tmp_path_factory.getbasetemp())
    return str(folder)


def _gen(model, out, *extra) -> int:
    return main(["generate", "a person walks forward", "--seconds", "2", "--seed", "3", "--steps", "3",
                 "--model", model, "--quiet", "-o", str(out), *extra])


def test_every_output_format(model, tmp_path):
    for name in ("m.npy", "m.npz", "m.bvh", "m.gif"):
        assert _gen(model, tmp_path / name) == 0
    joints = np.load(tmp_path / "m.npy")
    assert joints.shape == (40, 22, 3) and np.isfinite(joints).all()
    with np.load(tmp_path / "m.npz") as z:
        assert z["features"].shape == (40, 263) and float(z["fps"]) == 20.0
        assert str(z["prompt"]) == "a person walks forward" and int(z["seed"]) == 3
        assert np.allclose(z["joints"], joints)
    bvh = parse_bvh_text((tmp_path / "m.bvh").read_text())
    assert bvh.num_frames == 40
    assert (tmp_path / "m.gif").read_bytes()[:3] == b"GIF"


def test_same_seed_same_file_and_samples(model, tmp_path):
    _gen(model, tmp_path / "a.npy")
    _gen(model, tmp_path / "b.npy")
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    assert _gen(model, tmp_path / "s.npy", "--samples", "2") == 0
    assert (tmp_path / "s_0.npy").is_file() and (tmp_path / "s_1.npy").is_file()


@pytest.mark.parametrize("args", [["generate", "   "], ["generate", "walk", "--seconds", "0.2"],
                                  ["generate", "walk", "--seconds", "11"], ["generate", "walk", "--cfg", "-1"],
                                  ["generate", "walk", "--samples", "0"]])
def test_bad_requests_exit_2_and_write_nothing(model, tmp_path, args, capsys):
    out = tmp_path / "x.npy"
    assert main([*args, "--model", model, "--quiet", "-o", str(out)]) == 2
    assert "error:" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_edit_by_part_and_frames_keeps_the_rest(model, tmp_path, capsys):
    _gen(model, tmp_path / "in.npz")
    capsys.readouterr()
    code = main(["edit", str(tmp_path / "in.npz"), "--prompt", "a person waves with the right hand", "--frames",
                 "8:32", "--part", "right_arm", "--steps", "3", "--model", model, "--quiet",
                 "-o", str(tmp_path / "out.npz")])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["untouched_mpjpe_mm"] < 0.1
    with np.load(tmp_path / "in.npz") as a, np.load(tmp_path / "out.npz") as b:
        assert np.array_equal(a["features"][:8], b["features"][:8])
        assert not np.array_equal(a["features"], b["features"])


@pytest.mark.parametrize("extra", [["--part", "tentacle"], ["--joints", "r_wrist,nose"], ["--frames", "30:90"],
                                   ["--frames", "12"]])
def test_bad_edits_exit_2(model, tmp_path, extra):
    _gen(model, tmp_path / "in.npz")
    assert main(["edit", str(tmp_path / "in.npz"), "--prompt", "wave", *extra, "--model", model, "--quiet",
                 "-o", str(tmp_path / "out.npz")]) == 2
    assert not (tmp_path / "out.npz").exists()


def test_compose(model, tmp_path):
    assert main(["compose", "walk forward", "then sit down", "--seconds", "2,1.6", "--steps", "3", "--model", model,
                 "--quiet", "-o", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (72, 22, 3)


def test_tampered_model_is_refused(model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    onnx = copy / "mask_transformer.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    assert main(["generate", "walk", "--model", str(copy), "--quiet", "-o", str(tmp_path / "x.npy")]) == 2
    assert not (tmp_path / "x.npy").exists()


def test_the_shipped_model_verifies_and_generates(tmp_path):
    meta = json.loads((DEFAULT_MODEL / "generator.json").read_text())
    total = sum(p.stat().st_size for p in DEFAULT_MODEL.iterdir())
    assert total <= 60 * 2**20, f"shipped model is {total / 2**20:.1f} MB"
    assert meta["format"] == "mogents-generator" and meta["parity_ok"]
    assert meta["vq"]["root_stream"] == "aux" and meta["columns"] == 7  # the better of the two root variants
    assert meta["decoding"] == {"steps": 5}
    card = (DEFAULT_MODEL / "MODEL_CARD.md").read_text()
    assert all(digest in card for digest in meta["sha256"].values())  # the card quotes every checksum
    assert main(["generate", "a person walks forward", "--seconds", "3", "--quiet", "-o", str(tmp_path / "w.npy")]) == 0
    joints = np.load(tmp_path / "w.npy")
    assert joints.shape == (60, 22, 3)
    assert 0.6 < joints[:, 0, 1].mean() < 1.2  # the pelvis stands at a human height


# Prompts that earlier defaults fail at seed 0 (v1 raises one arm, walks forward for "backward", never waves while
# walking; mogents-corpus-v2-small crouched for "stands still") and the shipped model passes on every seed of the
# prompt suite; checked with the suite's own checks on the cleaned output users get. (It no longer crawls:
# "crawls forward on hands and knees" passes 0 of 3 seeds, model card.)
SHIPPED_PROMPTS = ["a person raises both arms above the head", "a person stands still",
                   "a person walks backward", "a person waves with the right hand while walking"]


@pytest.mark.parametrize("text", SHIPPED_PROMPTS)
def test_the_shipped_model_does_what_basic_prompts_say(text):
    from backend.generate.loader import load_generator
    from training.eval.prompt_suite import SUITE

    prompt = next(p for p in SUITE if p.text == text)
    gen = load_generator(threads=1)
    joints = gen.generate(prompt.text, seconds=prompt.seconds, seed=0)[0].joints
    result = prompt.check(joints)
    assert result.passed, f"{text!r}: {result.what} = {result.value:.3f}"


def test_the_previous_default_stays_loadable(tmp_path):
    v1 = DEFAULT_MODEL.parent / "generator_v1"
    meta = json.loads((v1 / "generator.json").read_text())
    assert meta["name"] == "mogents-corpus-small" and meta["name"] != json.loads(
        (DEFAULT_MODEL / "generator.json").read_text())["name"]
    assert main(["generate", "a person walks forward", "--model", str(v1), "--seconds", "2", "--quiet",
                 "-o", str(tmp_path / "v1.npy")]) == 0
    assert np.load(tmp_path / "v1.npy").shape == (40, 22, 3)


# The shipped (side-aware) model follows the side words the default before it got backwards (that one turned and
# sidestepped left for "right", and raised the left hand): checked with the prompt suite's own checks, seeds 0 and 1.
SIDE_PROMPTS = ["a person turns to the right", "someone sidesteps to the right",
                "a person raises the right hand above the head"]


@pytest.mark.parametrize("text", SIDE_PROMPTS)
def test_the_side_aware_model_follows_right_and_left(text):
    from backend.generate.loader import load_generator
    from training.eval.prompt_suite import SUITE

    folder = DEFAULT_MODEL
    assert json.loads((folder / "generator.json").read_text())["text"]["condition"] == "sentence+side"
    prompt = next(p for p in SUITE if p.text == text)
    gen = load_generator(folder, threads=1)
    for seed in (0, 1):
        result = prompt.check(gen.generate(prompt.text, seconds=prompt.seconds, seed=seed)[0].joints)
        assert result.passed, f"{text!r} seed {seed}: {result.what} = {result.value:.3f}"
