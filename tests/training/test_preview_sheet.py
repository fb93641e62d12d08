"""The model card's preview sheet: one frame strip per model and prompt, stacked in prompt order."""

from __future__ import annotations

from PIL import Image

from backend.generate.loader import DEFAULT_MODEL
from training.eval.preview_sheet import main


def test_sheet_has_a_row_per_model_and_prompt(tmp_path):
    out = tmp_path / "sheet.png"
    v1 = DEFAULT_MODEL.parent / "generator_v1"
    assert main(["--model", str(v1), "--model", str(DEFAULT_MODEL), "--prompt", "a person walks forward",
                 "--prompt", "a person jumps", "--out", str(out), "--frames", "4"]) == 0
    one = tmp_path / "one.png"
    assert main(["--model", str(DEFAULT_MODEL), "--prompt", "a person jumps", "--out", str(one), "--frames", "4"]) == 0
    sheet, row = Image.open(out), Image.open(one)
    assert sheet.width == row.width and sheet.height == 4 * row.height
