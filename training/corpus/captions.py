"""HumanML3D-style captions from verb phrases: subjects, numbers, joining actions with 'then'.

Families write third-person verb phrases with two placeholders: `{pos}` (possessive matching the
subject: his / her / their) and `{refl}` (himself / herself / themselves). Every phrase a family offers
must be true of the motion it made; this module only picks and joins them.
"""

from __future__ import annotations

import numpy as np

from backend.data.postag import tag_caption

_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
SUBJECTS = (
    ("a person", "their", "themselves"),
    ("someone", "their", "themselves"),
    ("a man", "his", "himself"),
    ("the man", "his", "himself"),
    ("a woman", "her", "herself"),
    ("the person", "their", "themselves"),
    ("a figure", "their", "themselves"),
    ("the woman", "her", "herself"),
    ("a human", "their", "themselves"),
    ("a guy", "his", "himself"),
)
_SUBJECT_P = np.array([0.34, 0.14, 0.14, 0.08, 0.08, 0.08, 0.03, 0.04, 0.03, 0.04])

# Words the lexicon tagger gets wrong in this corpus (lemma/POS as spaCy's coarse tags would give).
TAG_FIXES = {
    "ahead": "ADV",
    "sideways": "ADV",
    "overhand": "ADV",
    "counterclockwise": "ADV",
    "clockwise": "ADV",
    "quarter": "NOUN",
    "semicircle": "NOUN",
    "tiptoes": "VERB",
    "strolls": "VERB",
    "ambles": "VERB",
    "hurries": "VERB",
    "jacks": "NOUN",
    "hello": "INTJ",
    "goodbye": "INTJ",
    "military": "ADJ",
    "alternately": "ADV",
    "fist": "NOUN",
    "fists": "NOUN",
    "forehead": "NOUN",
    "overhead": "ADV",
    "waist": "NOUN",
    "knees": "NOUN",
    "loosely": "ADV",
    "upright": "ADJ",
    "crouched": "ADJ",
    "stealthily": "ADV",
    "lightly": "ADV",
    "jumps": "VERB",
    "hops": "VERB",
    "skips": "VERB",
    "sprints": "VERB",
    "dashes": "VERB",
    "marches": "VERB",
    "spins": "VERB",
    "twirls": "VERB",
    "circles": "VERB",
    "punches": "VERB",
    "jabs": "VERB",
    "throws": "VERB",
    "tosses": "VERB",
    "salutes": "VERB",
    "bows": "VERB",
    "squats": "VERB",
    "lunges": "VERB",
    "kicks": "VERB",
    "stomps": "VERB",
    "stamps": "VERB",
    "crouches": "VERB",
    "stretches": "VERB",
    "dances": "VERB",
    "sways": "VERB",
    "waves": "VERB",
    "claps": "VERB",
    "points": "VERB",
    "reaches": "VERB",
    "raises": "VERB",
    "lifts": "VERB",
    "balances": "VERB",
    "stands": "VERB",
    "sits": "VERB",
    "walks": "VERB",
    "jogs": "VERB",
    "runs": "VERB",
    "sneaks": "VERB",
    "creeps": "VERB",
    "turns": "VERB",
    "steps": "VERB",
    "backs": "VERB",
    "shuffles": "VERB",
    "sidesteps": "VERB",
    "pivots": "VERB",
    "applauds": "VERB",
    "greets": "VERB",
    "rests": "VERB",
    "looks": "VERB",
    "shifts": "VERB",
    "bends": "VERB",
    "leans": "VERB",
    "gets": "VERB",
    "puts": "VERB",
    "takes": "VERB",
    "makes": "VERB",
    "does": "VERB",
    "moves": "VERB",
    "goes": "VERB",
    "rises": "VERB",
    "lowers": "VERB",
    "holds": "VERB",
    "waits": "VERB",
    "strides": "VERB",
    "paces": "VERB",
    "trots": "VERB",
    "bounces": "VERB",
    "leaps": "VERB",
    "extends": "VERB",
    "swings": "VERB",
    "brings": "VERB",
    "kneels": "VERB",
    "crosses": "VERB",
    "stays": "VERB",
    "keeps": "VERB",
    "travels": "VERB",
    "curves": "VERB",
    "veers": "VERB",
    "rotates": "VERB",
    "performs": "VERB",
    "returns": "VERB",
    "drops": "VERB",
    "gestures": "VERB",
    "weight": "NOUN",
    "heel": "NOUN",
    "heels": "NOUN",
    "tip": "NOUN",
    "stealth": "NOUN",
    "crouch": "NOUN",
    "hips": "NOUN",
    "ball": "NOUN",
    "side-to-side": "ADJ",
    "jumping": "VERB",
    "then": "ADV",
    "finally": "ADV",
    "first": "ADV",
    "afterwards": "ADV",
    "briskly": "ADV",
    "energetically": "ADV",
    "forwards": "ADV",
    "backwards": "ADV",
    "backward": "ADV",
    "forward": "ADV",
    "place": "NOUN",
    "spot": "NOUN",
    "times": "NOUN",
    "steady": "ADJ",
    "gives": "VERB",
    "grooves": "VERB",
    "side-steps": "VERB",
    "winds": "VERB",
    "alternates": "VERB",
    "follows": "VERB",
    "boxes": "VERB",
    "spreads": "VERB",
    "glances": "VERB",
    "folds": "VERB",
    "stoops": "VERB",
    "opens": "VERB",
    "complete": "ADJ",
    "easy": "ADJ",
    "simple": "ADJ",
    "slight": "ADJ",
    "opposite": "ADJ",
    "much": "ADV",
    "speed": "NOUN",
    "one": "NUM",
    "without": "ADP",
    "akimbo": "ADV",
    "u-turn": "NOUN",
    # corpus v2 verbs the suffix rules would tag as plural nouns
    **{w: "VERB" for w in """bobs nods shakes shrugs scratches covers holds checks beckons signals answers presses
texts types reads drinks sips eats munches snacks carries picks grabs places sets lays leaves lowers kneels
drops lies touches circles twists catches receives lobs pitches climbs ascends descends parades
limps hobbles trips stumbles staggers weaves wobbles pushes shoves pulls drags spars hits drives
tees bats serves plays dribbles shoots waltzes scans swivels agrees disagrees says rubs warms
signals leads puts tucks favors favoring loses regains steadies recovers catches talks uses pumps
advances backpedals bites boogies bounds breaks buries busts changes chats chews chucks clutches collects
completes delivers deposits dips ducks elevates executes fires flings gazes genuflects grasps guards gulps
hauls heaves hinges hoists hunkers indicates intercepts itches lashes launches limbers loosens lurches
maintains nibbles peers pirouettes pounds practices proceeds progresses propels prowls races reclines
retreats retrieves reverses scoops scrolls seats seizes settles shadowboxes shambles slams snaps snatches
springs surveys sustains totes transports tugs unlatches waggles wags wheels whirls yanks crawls rolls
cartwheels tumbles somersaults scrambles creeps heads heading""".split()},
}


# Lemmas the suffix rules get wrong (keyed by the wrong lemma they produce).
LEMMA_FIXES = {
    "alternat": "alternate",
    "ambl": "amble",
    "curv": "curve",
    "giv": "give",
    "glanc": "glance",
    "groov": "groove",
    "spe": "speed",
    "tak": "take",
    "us": "use",
}


def num(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def times_word(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{num(n)} times")


def side_word(side: int) -> str:
    return ("left", "right")[side]


def pick_subject(rng: np.random.Generator) -> tuple[str, str, str]:
    return SUBJECTS[int(rng.choice(len(SUBJECTS), p=_SUBJECT_P))]


def _fill(phrase: str, subj: tuple[str, str, str]) -> str:
    return phrase.replace("{pos}", subj[1]).replace("{refl}", subj[2])


def _join(rng: np.random.Generator, subj: tuple[str, str, str], vps: list[str]) -> str:
    s = subj[0]
    vps = [_fill(v, subj) for v in vps]
    if len(vps) == 1:
        return f"{s} {vps[0]}."
    if len(vps) == 2:
        form = int(rng.integers(4))
        if form == 0:
            return f"{s} {vps[0]}, then {vps[1]}."
        if form == 1:
            return f"{s} {vps[0]} and then {vps[1]}."
        if form == 2:
            return f"first {s} {vps[0]}, then {vps[1]}."
        return f"{s} {vps[0]}, and afterwards {vps[1]}."
    form = int(rng.integers(3))
    if form == 0:
        return f"{s} {vps[0]}, then {vps[1]}, and finally {vps[2]}."
    if form == 1:
        return f"{s} {vps[0]}, then {vps[1]}, then {vps[2]}."
    return f"first {s} {vps[0]}, then {vps[1]} and then {vps[2]}."


def make_captions(rng: np.random.Generator, phrase_sets: list[list[str]], count: int) -> list[str]:
    """`count` distinct captions; caption i uses a different phrase of each action where it can."""
    orders = [list(rng.permutation(len(ps))) for ps in phrase_sets]
    out: list[str] = []
    attempt = 0
    while len(out) < count and attempt < 4 * count + 8:
        vps = [ps[orders[a][attempt % len(ps)]] for a, ps in enumerate(phrase_sets)]
        text = _join(rng, pick_subject(rng), vps)
        if text not in out:
            out.append(text)
        attempt += 1
    return out


def tokens(text: str) -> str:
    """spaCy-style 'lemma/POS' tokens for a caption, with this corpus's lemma fixes."""
    out = []
    for tok in tag_caption(text, extra=TAG_FIXES).split():
        lemma, pos = tok.rsplit("/", 1)
        out.append(f"{LEMMA_FIXES.get(lemma, lemma)}/{pos}")
    return " ".join(out)
