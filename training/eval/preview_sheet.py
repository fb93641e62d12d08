"""A model card's preview: stick-figure frame strips of a few prompts, one row per model and prompt.

    python -m training.eval.preview_sheet --model backend/models/generator_v1 --model backend/models/default \
        --prompt "a person turns to the right" --prompt "a person crawls forward" --out preview.png

Rows alternate between the models for each prompt (seed 0, cleaned output, as `mogents generate` gives it),
so a reader compares them prompt by prompt.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image

from backend.data.stick_render import render_frame_strip
from backend.generate.loader import load_generator
from backend.motion.skeleton import SMPL22


def preview_sheet(models: list[str], prompts: list[str], out: Path, seed: int = 0, frames: int = 8,
                  threads: int | None = 1) -> Path:
    gens = [load_generator(m, threads=threads) for m in models]
    rows: list[Image.Image] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, prompt in enumerate(prompts):
            for k, gen in enumerate(gens):
                (motion,) = gen.generate(prompt, seed=seed)
                path = Path(tmp) / f"{i}_{k}.png"
                render_frame_strip(motion.joints, SMPL22, path, n=frames, title=f"{gen.runtime.info.name}: {prompt}",
                                   fps=SMPL22.fps)
                rows.append(Image.open(path).convert("RGB"))
    width = max(r.width for r in rows)
    sheet = Image.new("RGB", (width, sum(r.height for r in rows)), "white")
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, help="generator folder (repeat)")
    ap.add_argument("--prompt", action="append", required=True, help="prompt (repeat)")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=8, help="frames per strip")
    args = ap.parse_args(argv)
    print(f"wrote {preview_sheet(args.model, args.prompt, args.out, args.seed, args.frames)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
