"""Procedural motion-language corpus: text-labelled SMPL-22 motions built from rules.

Entry points: `compose.make_clip(rng)` for one clip (joints, captions, actions) and
`synth.write_corpus(...)` / `synth.run_synth(args)` for a HumanML3D-layout dataset.
"""
