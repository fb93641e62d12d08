"""A small lexicon + suffix-rule POS tagger and lemmatiser for motion captions.

HumanML3D stores each caption with spaCy's lemma/coarse-POS pairs ("a/DET man/NOUN kick/VERB ...").
No tagger model can be downloaded here, and motion captions use a small, regular vocabulary, so a
lexicon with suffix fallbacks tags them well. Extra words can be passed in per call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_DET = "a an the this that these those his her their its my your each every another some no both".split()
_PRON = "he she it they him them someone something himself herself themselves one".split()
_ADP = ("in on at to from with by of for into onto over under around across along through toward towards "
        "behind above below up down off out about after before between near like than while upon back").split()
_CCONJ = "and or but".split()
_SCONJ = "as if because until when".split()
_PART = "not to 's".split()
_AUX = "is are was were be been being does do did has have had".split()
_NUM = ("one two three four five six seven eight nine ten eleven twelve several few "
        "1 2 3 4 5 6 7 8 9 10").split()
_ADV = ("slowly quickly fast briskly gently carefully forward forwards backward backwards sideways then again "
        "twice once quietly softly loudly energetically lazily repeatedly continuously still upward upwards "
        "downward downwards away together high low briefly rapidly steadily casually calmly cautiously "
        "vigorously slightly very really in-place overhead outward outwards inward clockwise "
        "counterclockwise anticlockwise afterwards finally first next also here there around straight "
        "halfway back left right").split()
_ADJ = ("left right both other big small large little quick slow fast high low wide narrow full half "
        "circular straight diagonal short long several few light heavy deep shallow tall upright front "
        "single whole entire").split()
# Irregular verb forms -> lemma
_IRREGULAR = {
    "ran": "run", "running": "run", "runs": "run", "sat": "sit", "sits": "sit", "sitting": "sit",
    "stood": "stand", "stands": "stand", "standing": "stand", "threw": "throw", "thrown": "throw",
    "went": "go", "goes": "go", "going": "go", "took": "take", "taken": "take", "taking": "take",
    "got": "get", "gets": "get", "getting": "get", "swung": "swing", "swings": "swing", "leapt": "leap",
    "hopping": "hop", "hopped": "hop", "skipping": "skip", "skipped": "skip", "stepping": "step",
    "stepped": "step", "clapping": "clap", "clapped": "clap", "jogging": "jog", "jogged": "jog",
    "squatting": "squat", "squatted": "squat", "stopping": "stop", "stopped": "stop", "spun": "spin",
    "spinning": "spin", "waving": "wave", "waved": "wave", "dancing": "dance", "danced": "dance",
    "lunging": "lunge", "lunged": "lunge", "saluting": "salute", "crouching": "crouch", "crouches": "crouch",
    "reaches": "reach", "stretches": "stretch", "punches": "punch", "raises": "raise", "makes": "make",
    "made": "make", "does": "do", "did": "do", "has": "have", "is": "be", "are": "be", "was": "be",
    "were": "be", "walked": "walk", "kicked": "kick", "jumped": "jump", "turned": "turn", "bent": "bend",
    "lies": "lie", "lay": "lie", "lying": "lie", "feet": "foot", "men": "man", "women": "woman",
    "people": "person", "times": "time", "hands": "hand", "arms": "arm", "legs": "leg", "steps": "step",
}
_NOUN = ("person man woman guy figure human character someone body hand hands arm arms leg legs foot feet knee "
         "knees head shoulder shoulders hip hips waist torso chest elbow wrist floor ground air circle arc "
         "step steps time times place direction side front back spot jack jacks motion movement dance "
         "balance squat lunge kick punch wave salute clap bow jump hop skip run walk jog turn spin stretch "
         "position pose stance ball object thing something distance degree degrees meter meters pace way "
         "toe toes finger fingers fist palm gesture rhythm beat music line path corner").split()
_VERB = ("walk jog run sneak hop skip jump turn spin wave raise lift point clap punch throw reach salute kick "
         "squat lunge stomp bow stretch crouch sit stand balance dance move step shuffle stride march stroll "
         "pace trot sprint dash creep tiptoe leap bounce rotate pivot swing extend lower bend lean twist greet "
         "strike hit toss pitch grab bring put place stamp kneel rise get hold stay remain keep start stop "
         "begin finish perform do make go come return circle arc shift sidestep wait idle pause look face "
         "cross curtsy nod shake flap swirl sway rock shift jab hurl lob stomp bend sink").split()

_NOUN_SET = frozenset(_NOUN)
_VERB_SET = frozenset(_VERB)
_LEXICON: dict[str, str] = {}
for tag, words in (("NOUN", _NOUN), ("VERB", _VERB), ("ADJ", _ADJ), ("ADV", _ADV), ("NUM", _NUM),
                   ("AUX", _AUX), ("PART", _PART), ("SCONJ", _SCONJ), ("CCONJ", _CCONJ), ("ADP", _ADP),
                   ("PRON", _PRON), ("DET", _DET)):
    for w in words:
        _LEXICON[w] = tag  # later groups win: function words override content guesses

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[^\sa-z0-9]", re.IGNORECASE)


def lemmatize(word: str, pos: str) -> str:
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if pos == "VERB":
        for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
            if w.endswith(suffix) and len(w) - len(suffix) >= 2:
                stem = w[: len(w) - len(suffix)] + repl
                if stem in _LEXICON or stem + "e" not in _LEXICON:
                    if stem not in _LEXICON and stem + "e" in _LEXICON:
                        return stem + "e"
                    return stem
                return stem + "e"
    if pos == "NOUN" and w.endswith("s") and not w.endswith("ss") and w[:-1] in _LEXICON:
        return w[:-1]
    return w


def _guess(word: str, prev_tag: str | None) -> str:
    w = word.lower()
    if not re.search(r"[a-z0-9]", w):
        return "PUNCT"
    if w.isdigit():
        return "NUM"
    if w in _LEXICON:
        tag = _LEXICON[w]
        # "left/right" after a determiner ("his left hand") is an adjective; after a verb, an adverb.
        if w in ("left", "right") and prev_tag in ("DET", "ADP"):
            return "ADJ"
        if w == "to" and prev_tag == "VERB":
            return "ADP"
        if w in _NOUN_SET and w in _VERB_SET:  # "a circle" vs "he circles"
            return "NOUN" if prev_tag in ("DET", "ADJ", "NUM", "ADP") else "VERB"
        return tag
    if w in _IRREGULAR:
        base = _IRREGULAR[w]
        return _LEXICON.get(base, "VERB") if base not in ("be", "have", "do") else "AUX"
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix):
            stem = w[: -len(suffix)]
            for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
                if _LEXICON.get(cand) in ("VERB", "NOUN"):
                    return "VERB" if _LEXICON.get(cand) == "VERB" or prev_tag in ("PRON", "NOUN") else "NOUN"
    if w.endswith("ly"):
        return "ADV"
    if w.endswith(("ful", "ous", "ive", "al", "ic", "able")):
        return "ADJ"
    if w.endswith(("ing", "ed")):
        return "VERB"
    return "NOUN"


def tag_caption(text: str, extra: dict[str, str] | None = None) -> str:
    """'a man walks forward' -> 'a/DET man/NOUN walk/VERB forward/ADV' (punctuation dropped)."""
    out: list[str] = []
    prev: str | None = None
    for token in _TOKEN_RE.findall(text):
        if extra and token.lower() in extra:
            tag = extra[token.lower()]
        else:
            tag = _guess(token, prev)
        if tag == "PUNCT":
            continue
        out.append(f"{lemmatize(token, tag)}/{tag}")
        prev = tag
    return " ".join(out)


def split_word_pos(tokens: Sequence[str], pos_index: dict[str, int], unknown: int) -> tuple[list[str], list[int]]:
    """Words and POS indices from HumanML3D 'word/POS' tokens; a token without '/POS', or with a tag missing
    from `pos_index`, gets `unknown`. The evaluator's training and the exported model read captions alike."""
    words, pos = [], []
    for tok in tokens:
        word, sep, tag = tok.rpartition("/")
        if not sep:
            word, tag = tok, ""
        if word:
            words.append(word)
            pos.append(pos_index.get(tag.upper(), unknown))
    return words, pos
