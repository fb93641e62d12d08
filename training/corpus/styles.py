"""Styles and emotions as modifiers: each changes the performer's posture, tempo and amplitude, and
brings the words that say so ("sadly", "a tired man", "with slumped shoulders").

A modifier rewrites the clip's `Style` (which every family's neutral stance and timing read) and scales
the amplitude of the actions' key poses; the caption grammar uses its adverbs, adjectives and phrases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .body import Style


@dataclass(frozen=True)
class StyleMod:
    name: str
    adverbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    phrases: tuple[str, ...]
    lean: float  # added forward spine pitch (rad); < 0 is upright, chest out
    head: float  # added head pitch (rad), + looks down
    tempo: float  # multiplies the performer's tempo
    amplitude: float  # scales gesture and step amplitude
    arm_swing: float  # multiplies the arm swing gain
    stance: float = 0.0  # added stance width (m)
    crouch: float = 0.0  # pelvis lowered (m)
    bounce: float = 1.0  # multiplies the gait bob


MODS: dict[str, StyleMod] = {m.name: m for m in (
    StyleMod("happy", ("happily", "joyfully", "cheerfully", "gleefully", "merrily"),
             ("happy", "cheerful", "joyful", "glad", "delighted"),
             ("in a happy mood", "with a spring in {pos} step", "in high spirits", "in a cheerful way"),
             lean=-0.03, head=-0.08, tempo=1.12, amplitude=1.15, arm_swing=1.3, bounce=1.6),
    StyleMod("sad", ("sadly", "gloomily", "sorrowfully", "dejectedly", "miserably"),
             ("sad", "gloomy", "unhappy", "depressed", "downcast"),
             ("with {pos} head hanging low", "with slumped shoulders", "in a sad way", "looking down at the floor"),
             lean=0.16, head=0.32, tempo=0.8, amplitude=0.75, arm_swing=0.5, bounce=0.6),
    StyleMod("angry", ("angrily", "furiously", "aggressively", "fiercely", "irritably"),
             ("angry", "furious", "mad", "annoyed", "irritated"),
             ("in an angry way", "with a lot of force", "in a rage", "with tense shoulders"),
             lean=0.08, head=0.05, tempo=1.15, amplitude=1.2, arm_swing=1.2, bounce=0.9),
    StyleMod("tired", ("wearily", "tiredly", "sluggishly", "lazily", "drowsily"),
             ("tired", "exhausted", "weary", "sleepy", "worn-out"),
             ("as if exhausted", "with heavy limbs", "like someone with no energy", "in a tired way"),
             lean=0.14, head=0.22, tempo=0.78, amplitude=0.7, arm_swing=0.45, crouch=0.02, bounce=0.5),
    StyleMod("excited", ("excitedly", "eagerly", "energetically", "enthusiastically", "vigorously"),
             ("excited", "eager", "energetic", "enthusiastic", "thrilled"),
             ("full of energy", "with great enthusiasm", "in an excited way", "bursting with energy"),
             lean=-0.01, head=-0.05, tempo=1.2, amplitude=1.25, arm_swing=1.4, bounce=1.8),
    StyleMod("cautious", ("cautiously", "carefully", "warily", "hesitantly", "nervously"),
             ("cautious", "careful", "wary", "hesitant", "nervous"),
             ("with great care", "as if the floor were slippery", "in a careful way", "keeping low"),
             lean=0.12, head=0.02, tempo=0.82, amplitude=0.8, arm_swing=0.6, stance=0.03, crouch=0.05),
    StyleMod("proud", ("proudly", "confidently", "boldly", "triumphantly", "majestically"),
             ("proud", "confident", "bold", "triumphant", "self-assured"),
             ("with {pos} chest out", "with {pos} head held high", "in a confident way", "standing tall"),
             lean=-0.1, head=-0.14, tempo=0.95, amplitude=1.1, arm_swing=1.1, bounce=0.8),
    StyleMod("old", ("stiffly", "feebly", "haltingly", "frailly", "shakily"),
             ("old", "elderly", "aged", "frail", "stiff"),
             ("like an old man", "like an elderly person", "with a stooped back", "hunched over with age"),
             lean=0.28, head=-0.05, tempo=0.72, amplitude=0.65, arm_swing=0.35, stance=0.04, crouch=0.04,
             bounce=0.4),
    StyleMod("sneaky", ("sneakily", "stealthily", "quietly", "secretly", "furtively"),
             ("sneaky", "stealthy", "quiet", "secretive", "furtive"),
             ("on the tips of {pos} toes", "trying not to be heard", "like a thief", "in a sneaky way"),
             lean=0.2, head=-0.12, tempo=0.8, amplitude=0.8, arm_swing=0.4, crouch=0.07, bounce=0.4),
)}


def sample_mod(rng: np.random.Generator, p: float = 0.3) -> StyleMod | None:
    if rng.random() >= p:
        return None
    names = sorted(MODS)
    return MODS[names[int(rng.integers(len(names)))]]


def apply_mod(style: Style, mod: StyleMod | None) -> Style:
    """The performer's style under a modifier (posture, tempo, arm swing, stance)."""
    if mod is None:
        return style
    return replace(
        style,
        lean=style.lean + mod.lean,
        head_pitch=style.head_pitch + mod.head,
        tempo=float(np.clip(style.tempo * mod.tempo, 0.6, 1.45)),
        arm_swing=style.arm_swing * mod.arm_swing,
        stance_width=style.stance_width + mod.stance,
    )
