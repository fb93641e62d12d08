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
    StyleMod("happy", ("happily", "joyfully", "cheerfully", "gleefully", "merrily", "blissfully", "contentedly", "jovially",
              "buoyantly", "exuberantly", "jubilantly"),
             ("happy", "cheerful", "joyful", "glad", "delighted", "content", "jolly", "upbeat", "elated",
              "smiling", "beaming", "carefree"),
             ("in a happy mood", "with a spring in {pos} step", "in high spirits", "in a cheerful way",
              "with a big smile", "full of joy", "in a great mood", "as if celebrating good news"),
             lean=-0.03, head=-0.08, tempo=1.12, amplitude=1.15, arm_swing=1.3, bounce=1.6),
    StyleMod("sad", ("sadly", "gloomily", "sorrowfully", "dejectedly", "miserably", "mournfully", "glumly", "forlornly",
              "despondently", "wistfully", "heavily"),
             ("sad", "gloomy", "unhappy", "depressed", "downcast", "sorrowful", "heartbroken", "melancholy",
              "dejected", "grieving", "lonely", "disappointed"),
             ("with {pos} head hanging low", "with slumped shoulders", "in a sad way", "looking down at the floor",
              "as if grieving", "with a heavy heart", "as if after bad news", "in low spirits"),
             lean=0.16, head=0.32, tempo=0.8, amplitude=0.75, arm_swing=0.5, bounce=0.6),
    StyleMod("angry", ("angrily", "furiously", "aggressively", "fiercely", "irritably", "violently", "resentfully", "crossly",
              "heatedly", "wrathfully", "forcefully"),
             ("angry", "furious", "mad", "annoyed", "irritated", "enraged", "frustrated", "agitated", "hostile",
              "grumpy", "livid", "fuming"),
             ("in an angry way", "with a lot of force", "in a rage", "with tense shoulders",
              "as if losing {pos} temper", "with clenched jaw", "in a fit of anger", "full of frustration"),
             lean=0.08, head=0.05, tempo=1.15, amplitude=1.2, arm_swing=1.2, bounce=0.9),
    StyleMod("tired", ("wearily", "tiredly", "sluggishly", "lazily", "drowsily", "listlessly", "languidly", "groggily",
              "laboriously", "limply", "fatiguedly"),
             ("tired", "exhausted", "weary", "sleepy", "worn-out", "fatigued", "drained", "drowsy", "spent",
              "sluggish", "lethargic", "overworked"),
             ("as if exhausted", "with heavy limbs", "like someone with no energy", "in a tired way",
              "after a long day", "as if after a marathon", "barely able to keep going", "out of breath"),
             lean=0.14, head=0.22, tempo=0.78, amplitude=0.7, arm_swing=0.45, crouch=0.02, bounce=0.5),
    StyleMod("excited", ("excitedly", "eagerly", "energetically", "enthusiastically", "vigorously", "zealously", "animatedly",
              "keenly", "passionately", "wildly", "spiritedly"),
             ("excited", "eager", "energetic", "enthusiastic", "thrilled", "hyper", "lively", "pumped",
              "ecstatic", "animated", "spirited", "restless"),
             ("full of energy", "with great enthusiasm", "in an excited way", "bursting with energy",
              "as if unable to contain {refl}", "with lots of pep", "in a burst of excitement",
              "like a kid on a holiday"),
             lean=-0.01, head=-0.05, tempo=1.2, amplitude=1.25, arm_swing=1.4, bounce=1.8),
    StyleMod("cautious", ("cautiously", "carefully", "warily", "hesitantly", "nervously", "timidly", "anxiously", "tentatively",
              "apprehensively", "gingerly", "fearfully"),
             ("cautious", "careful", "wary", "hesitant", "nervous", "timid", "anxious", "scared", "uneasy",
              "fearful", "watchful", "jittery"),
             ("with great care", "as if the floor were slippery", "in a careful way", "keeping low",
              "as if walking on ice", "as if afraid of falling", "with a nervous posture",
              "as though something might go wrong"),
             lean=0.12, head=0.02, tempo=0.82, amplitude=0.8, arm_swing=0.6, stance=0.03, crouch=0.05),
    StyleMod("proud", ("proudly", "confidently", "boldly", "triumphantly", "majestically", "regally", "haughtily", "assertively",
              "grandly", "victoriously", "nobly"),
             ("proud", "confident", "bold", "triumphant", "self-assured", "dignified", "regal", "victorious",
              "cocky", "poised", "stately", "heroic"),
             ("with {pos} chest out", "with {pos} head held high", "in a confident way", "standing tall",
              "like a champion", "as if after a victory", "with a proud posture", "like royalty"),
             lean=-0.1, head=-0.14, tempo=0.95, amplitude=1.1, arm_swing=1.1, bounce=0.8),
    StyleMod("old", ("stiffly", "feebly", "haltingly", "frailly", "shakily", "creakily", "arthritically", "infirmly",
              "tremblingly", "totteringly", "ploddingly"),
             ("old", "elderly", "aged", "frail", "stiff", "senior", "ancient", "wrinkled", "hunched", "feeble",
              "grey-haired", "retired"),
             ("like an old man", "like an elderly person", "with a stooped back", "hunched over with age",
              "like a grandfather", "like a grandmother", "with aching joints", "as old people do"),
             lean=0.28, head=-0.05, tempo=0.72, amplitude=0.65, arm_swing=0.35, stance=0.04, crouch=0.04,
             bounce=0.4),
    StyleMod("sneaky", ("sneakily", "stealthily", "quietly", "secretly", "furtively", "covertly", "slyly", "silently",
              "surreptitiously", "discreetly", "noiselessly"),
             ("sneaky", "stealthy", "quiet", "secretive", "furtive", "sly", "silent", "shifty", "sneaking",
              "cunning", "mischievous", "crafty"),
             ("on the tips of {pos} toes", "trying not to be heard", "like a thief", "in a sneaky way",
              "like a spy", "like a cat burglar", "so as not to wake anyone", "trying to stay unseen"),
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
