"""The caption grammar: subjects, sentence structures, progressive forms, alternations and slots.

Family phrases are third-person verb-phrase templates. `(a|b|c)` picks one alternative (an empty one
drops the group); `{slot}` takes a value from the action's slots (side, hand, count, object, ...), which
come from the action's parameters, so a caption only ever says what the parameters are;
`{pos}` / `{refl}` / `{pron}` agree with the sentence's subject. Sentence forms wrap verb phrases
(plain, progressive, fronted, framed, passive-like) and join several actions in sequence ("..., then
...") or in parallel ("... while ...").
"""

from __future__ import annotations

import re

import numpy as np

from .lexicon import media_frame, scene
from .styles import StyleMod

# (noun phrase, possessive, reflexive, pronoun)
_NEUTRAL_NOUNS = (
    "person",
    "figure",
    "human",
    "individual",
    "character",
    "performer",
    "actor",
    "subject",
    "dancer",
    "athlete",
    "player",
    "kid",
    "child",
    "teenager",
    "adult",
    "student",
    "worker",
    "stick figure",
    "avatar",
    "human figure",
    "young person",
    "mover",
    "gymnast",
    "runner",
    "jogger",
    "trainee",
    "participant",
    "volunteer",
    "model",
    "puppet",
    "mannequin",
    "humanoid",
    "tourist",
    "traveler",
    "visitor",
    "stranger",
    "guest",
    "customer",
    "shopper",
    "pedestrian",
    "teen",
    "youngster",
    "employee",
    "office worker",
    "coach",
    "instructor",
    "teacher",
    "nurse",
    "doctor",
    "chef",
    "waiter",
    "farmer",
    "builder",
    "mechanic",
    "artist",
    "musician",
    "singer",
    "clown",
    "mime",
    "acrobat",
    "soldier",
    "officer",
    "firefighter",
    "police officer",
    "pilot",
    "scientist",
    "engineer",
    "driver",
    "neighbor",
    "friend",
    "parent",
    "martial artist",
    "fighter",
    "boxer",
    "golfer",
    "skater",
    "hiker",
    "climber",
    "swimmer",
    "cyclist",
    "yogi",
    "gamer",
    "referee",
    "cheerleader",
    "human being",
    "3d character",
    "digital human",
    "animated figure",
    "cartoon character",
    "game character",
    "virtual character",
    "robot-like figure",
    "bystander",
    "passerby",
    "spectator",
    "fan",
    "commuter",
    "resident",
    "homeowner",
    "tenant",
    "patient",
    "cook",
    "baker",
    "janitor",
    "cleaner",
    "gardener",
    "carpenter",
    "plumber",
    "electrician",
    "lawyer",
    "banker",
    "manager",
    "clerk",
    "cashier",
    "receptionist",
    "accountant",
    "programmer",
    "designer",
    "photographer",
    "journalist",
    "reporter",
    "writer",
    "poet",
    "painter",
    "sculptor",
    "surfer",
    "skier",
    "snowboarder",
    "sprinter",
    "wrestler",
    "trainer",
    "lifeguard",
    "sailor",
    "captain",
    "astronaut",
    "knight",
    "wizard",
    "pirate",
    "ninja",
    "detective",
    "spy",
    "guard",
    "security guard",
    "librarian",
    "pharmacist",
    "dentist",
    "surgeon",
    "paramedic",
    "veterinarian",
    "mail carrier",
    "courier",
    "tailor",
    "barber",
    "hairdresser",
    "florist",
    "butcher",
    "fisherman",
    "hunter",
    "rancher",
    "miner",
    "welder",
    "architect",
    "professor",
    "tutor",
    "pupil",
    "graduate",
    "intern",
    "apprentice",
    "novice",
    "beginner",
    "expert",
    "professional",
    "amateur",
    "contestant",
    "competitor",
    "champion",
    "rookie",
    "veteran",
    "mountaineer",
    "camper",
    "backpacker",
    "explorer",
    "adventurer",
    "pilgrim",
    "wanderer",
    "jester",
    "magician",
    "comedian",
    "puppeteer",
    "stuntman",
    "choreographer",
    "drummer",
    "guitarist",
    "violinist",
    "pianist",
    "conductor",
    "director",
    "producer",
    "vlogger",
    "influencer",
    "streamer",
    "hobbyist",
)
_MALE_NOUNS = (
    "man",
    "guy",
    "boy",
    "gentleman",
    "young man",
    "male figure",
    "fellow",
    "dude",
    "lad",
    "chap",
    "father",
    "dad",
    "brother",
    "husband",
    "businessman",
    "sportsman",
    "male dancer",
    "male athlete",
    "teenage boy",
    "male character",
    "uncle",
    "son",
    "king",
    "prince",
    "cowboy",
)
_FEMALE_NOUNS = (
    "woman",
    "girl",
    "lady",
    "young woman",
    "female figure",
    "mother",
    "mom",
    "sister",
    "wife",
    "businesswoman",
    "sportswoman",
    "female dancer",
    "female athlete",
    "teenage girl",
    "actress",
    "ballerina",
    "female character",
    "aunt",
    "daughter",
    "queen",
    "princess",
    "waitress",
)


def _an(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _forms(nouns, main) -> list[str]:
    out = []
    for n in nouns:
        out += [_an(n), f"the {n}"] if n not in main else []
    return out


SUBJECTS: tuple[tuple[str, str, str, str], ...] = tuple(
    [
        (s, "their", "themselves", "they")
        for s in (
            "a person",
            "someone",
            "the person",
            "somebody",
            "an individual",
            *_forms(_NEUTRAL_NOUNS, ("person",)),
        )
    ]
    + [(s, "his", "himself", "he") for s in ("a man", "the man", "he", *_forms(_MALE_NOUNS, ("man",)))]
    + [(s, "her", "herself", "she") for s in ("a woman", "the woman", "she", *_forms(_FEMALE_NOUNS, ("woman",)))]
)
_SUBJ_W = np.array(
    [
        80.0
        if s[0] in ("a person", "someone", "a man", "the person")
        else 12.0
        if s[0] in ("a woman", "the man", "he", "she", "the woman")
        else 2.0
        if s[0].startswith("a")
        else 1.0
        for s in SUBJECTS
    ]
)
_SUBJ_P = _SUBJ_W / _SUBJ_W.sum()
# "they" takes plural verbs; captions keep singular subjects, so "they" is never a subject here.

_WORD_NUMS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
NUM_WORDS = {w: i for i, w in enumerate(_WORD_NUMS)}
_DOUBLE = set(
    "run jog hop skip step clap drop sit jab grab get put shrug nod spin trot stop tap plan swim dig pat rub "
    "flip trip strut stub slip wag bob pop drag hug chop hit swap tip tug set let cut fan skim jam zip drum "
    "wrap grip snap flap slam shop squat bat chat knit grin plop flop prod whip dip shrug scan".split()
)
_ING_IRREGULAR = {
    "does": "doing",
    "goes": "going",
    "is": "being",
    "has": "having",
    "lies": "lying",
    "ties": "tying",
    "dies": "dying",
    "sees": "seeing",
    "flees": "fleeing",
    "frees": "freeing",
}
_ALT_RE = re.compile(r"\(([^()]*)\)")
_SLOT_RE = re.compile(r"\{([a-z_0-9]+)\}")


def pick_subject(rng: np.random.Generator) -> tuple[str, str, str, str]:
    return SUBJECTS[int(rng.choice(len(SUBJECTS), p=_SUBJ_P))]


def ing(verb: str) -> str:
    """Third-person verb -> present participle: 'walks' -> 'walking', 'runs' -> 'running'."""
    if verb in _ING_IRREGULAR:
        return _ING_IRREGULAR[verb]
    if verb.endswith(("ches", "shes", "sses", "xes", "zzes")):
        base = verb[:-2]
    elif verb.endswith("ies") and len(verb) > 4:
        base = verb[:-3] + "y"
    elif verb.endswith("s") and not verb.endswith("ss"):
        base = verb[:-1]
    else:
        base = verb
    if base in _DOUBLE:
        return base + base[-1] + "ing"
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")) and len(base) > 2:
        return base[:-1] + "ing"
    return base + "ing"


def progressive(vp: str) -> str:
    """'waves with the left hand' -> 'waving with the left hand' (first word is the verb)."""
    head, _, rest = vp.partition(" ")
    if head.endswith("ly") or head in ("first", "then"):  # an adverb first: 'slowly walks ahead'
        return f"{head} {progressive(rest)}" if rest else head
    punct = head[len(head.rstrip(",;")) :]
    out = ing(head.rstrip(",;")) + punct
    # a second coordinated verb: "bends down and picks up" -> "bending down and picking up"
    rest = re.sub(
        r"\b(and|then|and then) (?!(?:knees|hands|feet|arms|legs|toes|heels|shoulders|hips|sides|"
        r"palms|fists|elbows|wrists|ankles|forwards|backwards)\b)([a-z]+s)\b",
        lambda m: f"{m.group(1)} {ing(m.group(2))}",
        rest,
        count=1,
    )
    return f"{out} {rest}".strip()


def expand(template: str, slots: dict, rng: np.random.Generator, subj: tuple[str, str, str, str]) -> str:
    """Fill alternations, slots and subject agreement; slot values may be lists (one is picked)."""
    text = template
    for _ in range(4):  # slots may hold alternations and alternations may hold slots
        text = _SLOT_RE.sub(lambda m: _slot(m.group(1), slots, rng), text)
        while True:
            new = _ALT_RE.sub(lambda m: _alt(m.group(1), rng), text)
            if new == text:
                break
            text = new
        if "{" not in text or all(k in ("pos", "refl", "pron") for k in _SLOT_RE.findall(text)):
            break
    text = text.replace("{pos}", subj[1]).replace("{refl}", subj[2]).replace("{pron}", subj[3])
    return " ".join(text.split())


def _alt(body: str, rng: np.random.Generator) -> str:
    opts = body.split("|")
    return opts[int(rng.integers(len(opts)))]


def _slot(name: str, slots: dict, rng: np.random.Generator) -> str:
    if name in ("pos", "refl", "pron"):
        return "{" + name + "}"
    if name not in slots:
        raise KeyError(f"caption template uses {{{name}}} but the action has no such slot")
    v = slots[name]
    if isinstance(v, (list, tuple)):
        v = v[int(rng.integers(len(v)))]
    return str(v)


def digits_sometimes(text: str, rng: np.random.Generator, p: float = 0.3) -> str:
    """Counts as words or digits: 'three steps' -> '3 steps' (two and up, never 'one')."""

    def sub(m: re.Match) -> str:
        n = NUM_WORDS[m.group(0)]
        return str(n) if n >= 2 and rng.random() < p else m.group(0)

    return re.sub(r"\b(" + "|".join(_WORD_NUMS[2:]) + r")\b", sub, text)


# ------------------------------------------------------------------ sentences

_FRAMES = (
    "in this clip",
    "in this video",
    "in the animation",
    "in this motion",
    "here",
    "in this scene",
    "in the recording",
    "on screen",
    "in this sequence",
    "in the footage",
    "in this take",
    "throughout the clip",
    "in this short clip",
    "during the clip",
    "in the capture",
)
_SHOWS = (
    "the video shows",
    "the clip shows",
    "this animation shows",
    "the motion shows",
    "we see",
    "we watch",
    "you can see",
    "the recording shows",
    "this is",
    "we observe",
    "one can see",
    "we can watch",
    "the camera shows",
    "the footage shows",
    "here we have",
    "we are watching",
)


def sentence(rng: np.random.Generator, subj, vp: str, style: StyleMod | None = None) -> str:
    """One caption for one verb phrase (subject and style words included)."""
    s = subj[0]
    if style is not None and rng.random() < 0.85:
        return _styled(rng, subj, vp, style)
    form = int(rng.choice(11, p=[0.36, 0.14, 0.08, 0.07, 0.07, 0.06, 0.05, 0.05, 0.05, 0.04, 0.03]))
    if form == 0:
        return f"{s} {vp}."
    if form == 1:
        return f"{s} is {progressive(vp)}." if s not in ("he", "she") else f"{s} is {progressive(vp)}."
    if form == 2:
        return f"{progressive(vp)}."
    if form == 3:
        return f"{_pick(rng, _FRAMES)}, {s} {vp}."
    if form == 4:
        return f"{_pick(rng, _SHOWS)} {_obj(s)} {progressive(vp)}."
    if form == 5:
        return f"{s} can be seen {progressive(vp)}."
    if form == 6:
        return f"{s} {vp} {_pick(rng, ('here', 'in this clip', 'on the spot', 'in the video'))}."
    if form == 8:
        return f"{media_frame(rng)} {_obj(s)} {progressive(vp)}."
    if form == 9:
        return f"{s} {vp} {scene(rng)}."
    if form == 10:
        return f"there is {s} who {vp}." if s not in ("he", "she") else f"{s} {vp}."
    return (
        f"{_pick(rng, ('a clip of', 'an animation of', 'a video of', 'footage of', 'motion of'))} "
        f"{_obj(s)} {progressive(vp)}."
    )


def _obj(s: str) -> str:
    return {"he": "him", "she": "her"}.get(s, s)


def _pick(rng: np.random.Generator, options) -> str:
    return options[int(rng.integers(len(options)))]


def _styled(rng: np.random.Generator, subj, vp: str, st: StyleMod) -> str:
    s = subj[0]
    adv, adj = _pick(rng, st.adverbs), _pick(rng, st.adjectives)
    form = int(rng.integers(7))
    if form == 0:
        return f"{s} {vp} {adv}."
    if form == 1:
        return f"{adv}, {s} {vp}."
    if form == 2 and s.startswith(("a ", "the ")) and not s.startswith(("a stick", "a human figure")):
        art, noun = s.split(" ", 1)
        art = ("an" if adj[0] in "aeiou" else "a") if art in ("a", "an") else art
        return f"{art} {adj} {noun} {vp}."
    if form == 3:
        return f"{s} {vp}, looking {adj}."
    if form == 4:
        return f"{s} {vp} {_pick(rng, st.phrases)}."
    if form == 5:
        return f"{s} is {progressive(vp)} {adv}."
    return f"{s}, {_pick(rng, ('looking', 'seeming', 'appearing', 'visibly'))} {adj}, {vp}."


def sequence(rng: np.random.Generator, subj, vps: list[str], style: StyleMod | None = None) -> str:
    """One caption for actions done one after the other."""
    s, pron = subj[0], subj[3] if subj[3] != "they" else subj[0]
    if len(vps) == 1:
        return sentence(rng, subj, vps[0], style)
    lead = ""
    if style is not None and rng.random() < 0.85:
        lead = f"{_pick(rng, style.adverbs)}, "
    if len(vps) == 2:
        a, b = vps
        form = int(rng.integers(14))
        body = [
            f"{s} {a}; next, {pron} {b}",
            f"{s} {a} and subsequently {b}",
            f"{s} {a}, and once done, {b}",
            f"{s} {a}, after which {pron} {b}",
            f"to begin, {s} {a}, and then {pron} {b}",
            f"{s} {a}, then {b}",
            f"{s} {a} and then {b}",
            f"first {s} {a}, then {b}",
            f"{s} {a}, and afterwards {b}",
            f"{s} {a}. after that, {pron} {b}",
            f"after {progressive(a)}, {s} {b}",
            f"{s} {a} before {progressive(b)}",
            f"{s} {a}, followed by {progressive(b)}",
            f"{s} {a}. next, {pron} {b}",
        ][(form + 9) % 14]
        return f"{lead}{body}."
    head = f"{s} {vps[0]}" if rng.random() < 0.7 else f"first {s} {vps[0]}"
    if rng.random() < 0.2:
        head = f"{_pick(rng, ('to start', 'to begin', 'initially', 'at first', 'at the start'))}, {s} {vps[0]}"
    mids = [
        f"{_pick(rng, ('then', 'then', 'next', 'after that', 'afterwards', 'subsequently', 'later'))} {v}"
        for v in vps[1:-1]
    ]
    closers = ("and finally", "and then", "then", "and lastly", "and in the end", "before finally", "and to finish",
               "and at the end")
    last = f"{_pick(rng, closers)} {vps[-1]}"
    return f"{lead}{', '.join([head, *mids])}, {last}."


def parallel(rng: np.random.Generator, subj, lower: str, upper: str, style: StyleMod | None = None) -> str:
    """One caption for an upper-body action done during a lower-body one."""
    s, pron = subj[0], subj[3] if subj[3] != "they" else subj[0]
    form = int(rng.integers(10))
    body = [
        f"{s} {lower} whilst {progressive(upper)}",
        f"{s} {upper} in the middle of {progressive(lower)}",
        f"{s} {lower}, all the while {progressive(upper)}",
        f"{s} {lower} while {progressive(upper)}",
        f"{s} {upper} while {progressive(lower)}",
        f"while {progressive(lower)}, {s} {upper}",
        f"{s} {lower} and {upper} at the same time",
        f"{s} {upper} as {pron} {lower}",
        f"{s} {lower}, {progressive(upper)} along the way",
        f"{s} is {progressive(lower)} and {progressive(upper)}",
    ][(form + 3) % 10]
    if style is not None and rng.random() < 0.85:
        return f"{_pick(rng, style.adverbs)}, {body}."
    return f"{body}."
