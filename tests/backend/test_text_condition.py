"""The side-aware text condition: a side code that is zero without side words and flips with the sides, built
the same way by the torch and ONNX runtimes, and each graph reading the columns it was trained on."""

from __future__ import annotations

import numpy as np
import pytest

from backend.generate.generator import Generator
from backend.runtime.text_condition import SENTENCE_SIDE, condition_dim, fit, side_code, text_condition
from tests.fixtures.tiny_generator import sentence_encoder, tiny_runtime


def _encode(texts: list[str]) -> np.ndarray:
    return sentence_encoder().encode(texts).numpy()


def test_side_code_flips_with_the_sides_and_is_zero_without_them():
    prompts = ["a person turns left", "a person turns right", "a person walks forward",
               "a person walks in a circle Clockwise", "a person walks in a circle counterclockwise"]
    cond = text_condition(_encode, prompts, SENTENCE_SIDE)
    assert cond.shape == (5, condition_dim(SENTENCE_SIDE, 384)) == (5, 768)
    np.testing.assert_allclose(cond[:, :384], _encode(prompts), atol=1e-6)  # the sentence comes first
    code = cond[:, 384:]
    np.testing.assert_allclose(code[0], -code[1], atol=1e-6)
    np.testing.assert_allclose(code[3], -code[4], atol=1e-6)
    assert not code[2].any()
    np.testing.assert_allclose(np.linalg.norm(code[[0, 1, 3, 4]], axis=1), 1.0, atol=1e-5)
    # the plain sentence embeddings of "left" and "right" are close; the codes are opposite
    s = cond[:, :384]
    assert float(s[0] @ s[1]) > 0.8 and float(code[0] @ code[1]) == pytest.approx(-1.0, abs=1e-5)


def test_side_code_of_identical_embeddings_is_zero():
    e = np.ones((2, 4), np.float32) / 2
    assert not side_code(e, e).any()


def test_fit_takes_leading_columns_and_refuses_a_narrow_condition():
    cond = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_array_equal(fit(cond, 3), cond[:, :3])
    with pytest.raises(ValueError, match="cannot feed"):
        fit(cond, 7)
    with pytest.raises(ValueError, match="unknown text condition"):
        text_condition(_encode, ["a"], "sentence+colour")


def test_a_side_conditioned_generator_decodes_and_reads_both_widths():
    rt = tiny_runtime(condition=SENTENCE_SIDE)
    assert rt.info.condition_dim == 768 and rt.mask.cfg.text_dim == 768 and rt.residual.cfg.text_dim == 384
    text = rt.encode_text(["a person turns left"])
    assert text.shape == (1, 768)
    assert rt.length_logits(text).shape == (1, 50)
    (motion,) = Generator(rt).generate("a person sidesteps to the right", seconds=2.0, seed=0)
    assert np.isfinite(motion.joints).all() and motion.joints.shape[0] == 40
