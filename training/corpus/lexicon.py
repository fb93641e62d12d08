"""Lexical variety that stays true: verb synonyms, per-family extra phrases, scenes, manner and tempo words.

Everything here only rephrases what the clip's parameters already say or adds framing that no parameter
contradicts (where the clip is set, what shows it). Rules:
- a synonym replaces a word or phrase by one that means the same (never a side, count, direction or speed
  the original did not say; speed synonyms replace speed words only);
- extra family phrases use the same slots as the family's own phrases ({hand}, {n}, {times}, {the_obj}, ...);
- tempo words ("briskly", "unhurriedly") come from the performer's measured tempo, and only in clips whose
  phrases name no speed of their own; manner words are used only without a style modifier and are never
  one of a modifier's adverbs.
"""

from __future__ import annotations

import re

import numpy as np

# ------------------------------------------------------------------ verb and word synonyms
# (pattern, alternatives): the pattern (a regex on the verb phrase) is replaced by one alternative.
_SYN: list[tuple[str, tuple[str, ...]]] = [
    (r"\bwalks forward\b", ("walks forward", "walks forwards", "heads forward", "advances on foot",
                            "makes {pos} way forward", "proceeds forward", "goes forward on foot",
                            "travels forward on foot", "walks onward", "progresses forward")),
    (r"\bwalks backward\b", ("walks backward", "walks backwards", "walks in reverse", "retreats on foot",
                             "steps backward", "moves rearward on foot", "backpedals")),
    (r"\bjogs\b", ("jogs", "trots", "runs at an easy jog", "does a light jog")),
    (r"\bruns\b(?! (a|the|{pos}) )", ("runs", "races", "dashes", "runs at speed")),
    (r"\bquickly\b", ("quickly", "rapidly", "swiftly", "speedily", "hastily", "at a fast pace")),
    (r"\bslowly\b", ("slowly", "at a slow pace", "leisurely", "without hurry")),
    (r"\b(walks|jogs|runs|moves|hops|jumps|leaps|marches|tiptoes|sneaks|skips|strides|hurries|creeps|limps|"
     r"heads|goes) forward\b", (r"\1 forward", r"\1 forwards", r"\1 ahead", r"\1 onward")),
    (r"\b(walks|steps|moves|jumps|hops) backward\b", (r"\1 backward", r"\1 backwards", r"\1 rearward",
                                                     r"\1 in reverse")),
    (r"\bto the left\b", ("to the left", "to {pos} left", "leftward", "toward the left", "to the left side")),
    (r"\bto the right\b", ("to the right", "to {pos} right", "rightward", "toward the right",
                           "to the right side")),
    (r"\bcounterclockwise\b", ("counterclockwise", "counter-clockwise", "anticlockwise")),
    (r"\bin a circle\b", ("in a circle", "in a loop", "in a circular path", "in a ring")),
    (r"\bin a full circle\b", ("in a full circle", "in a complete circle", "through a whole circle",
                               "in a complete loop")),
    (r"\bturns around\b", ("turns around", "turns round", "rotates around", "pivots around", "swivels around",
                           "wheels around")),
    (r"\bturns\b(?! around| round)", ("turns", "rotates", "pivots", "swivels")),
    (r"\bjumps\b(?! rope| jacks)", ("jumps", "leaps", "springs", "bounds")),
    (r"\bjumps up\b", ("jumps up", "leaps up", "springs upward", "jumps straight up", "jumps vertically")),
    (r"\braises\b", ("raises", "lifts", "elevates", "brings up")),
    (r"\blifts\b", ("lifts", "raises", "hoists", "heaves")),
    (r"\bpicks up\b", ("picks up", "collects", "retrieves", "scoops up", "takes hold of", "grasps")),
    (r"\bgrabs\b", ("grabs", "grasps", "seizes", "snatches", "clutches", "takes hold of")),
    (r"\bputs\b", ("puts", "places", "sets", "positions")),
    (r"\bplaces\b", ("places", "puts", "sets", "rests", "deposits")),
    (r"\bthrows a ball\b", ("throws a ball", "hurls a ball", "flings a ball", "tosses a ball",
                            "launches a ball", "chucks a ball")),
    (r"\bthrows\b(?!.*\b(jabs?|cross|crosses|hooks?|hooking|uppercuts?|punch|punches|kicks?|pitch)\b)",
     ("throws", "hurls", "flings", "tosses", "launches", "chucks")),
    (r"\bcatches\b", ("catches", "receives", "grabs out of the air", "intercepts")),
    (r"(?<!hooking )\bpunches\b(?= (forward|with|straight|out|up|ahead))", ("punches", "strikes", "hits out", "throws a punch", "swings a fist")),
    (r"\bkicks\b(?! a| the)", ("kicks", "kicks out", "delivers a kick", "throws a kick", "lashes out")),
    (r"\bwaves\b(?= with| to|,|\.|$)", ("waves", "gives a wave", "waves hello", "waves a greeting", "signals")),
    (r"\bclaps\b(?! \w+ hands)", ("claps", "applauds", "claps along", "gives a round of applause")),
    (r"\bsits down\b", ("sits down", "takes a seat", "settles down", "seats {refl}")),
    (r"\bstands up\b", ("stands up", "gets up", "rises", "gets to {pos} feet", "rises to {pos} feet",
                        "stands upright again")),
    (r"\bstands back up\b", ("stands back up", "gets back up", "rises again", "returns to standing",
                             "gets back on {pos} feet")),
    (r"\bgets back up\b", ("gets back up", "stands back up", "rises again", "gets up again")),
    (r"\blies down\b", ("lies down", "reclines", "lays {refl} down", "stretches out", "lies flat")),
    (r"\bbends down\b", ("bends down", "stoops down", "leans down", "ducks down", "bends low")),
    (r"\bbends over\b", ("bends over", "folds forward", "hinges forward at the hips", "stoops over")),
    (r"\bcrouches\b", ("crouches", "squats low", "hunkers down", "ducks")),
    (r"\blooks around\b", ("looks around", "glances around", "scans the surroundings", "surveys the area",
                           "peers around", "looks about")),
    (r"\blooks\b(?! around| like| about)", ("looks", "glances", "gazes", "peers")),
    (r"\bsteps\b(?= (to|up|onto|back|sideways|forward|out|in))", ("steps", "moves", "shifts")),
    (r"\bsidesteps\b", ("sidesteps", "side-steps", "shuffles sideways", "steps sideways", "moves laterally")),
    (r"\bspins\b", ("spins", "twirls", "whirls", "pirouettes")),
    (r"\bdances\b(?= around|,|\.|$| while| and| in | to | on | with)", ("dances", "grooves", "boogies", "moves to the music", "busts a move")),
    (r"\bstretches\b", ("stretches", "extends", "limbers up by stretching")),
    (r"\bpoints\b", ("points", "gestures", "indicates")),
    (r"\bsalutes\b", ("salutes", "gives a salute", "does a military salute", "snaps a salute")),
    (r"\bbows\b", ("bows", "takes a bow", "bows politely", "makes a bow")),
    (r"\bsquats\b", ("squats", "does squats", "drops into a squat", "performs squats")),
    (r"\blunges\b", ("lunges", "does a lunge", "steps into a lunge", "performs a lunge")),
    (r"\bstomps\b", ("stomps", "stamps", "pounds", "slams down")),
    (r"\bbalances\b", ("balances", "stays balanced", "holds {pos} balance", "keeps {pos} balance")),
    (r"\bdrinks\b", ("drinks", "sips", "takes a drink", "takes a sip", "gulps")),
    (r"\beats\b", ("eats", "takes a bite of", "munches on", "nibbles", "chews on")),
    (r"\bcarries\b", ("carries", "transports", "hauls", "totes", "brings along")),
    (r"\bpushes\b", ("pushes", "shoves", "drives", "propels")),
    (r"\bpulls\b", ("pulls", "tugs", "drags", "hauls", "yanks")),
    (r"\bopens\b", ("opens", "unlatches and opens", "swings open")),
    (r"\bclimbs\b", ("climbs", "ascends", "goes up", "heads up")),
    (r"\bnods\b(?! \w+ head)", ("nods", "bobs {pos} head", "nods in agreement", "dips {pos} head")),
    (r"\bshrugs\b(?! \w+ shoulders)", ("shrugs", "shrugs {pos} shoulders", "lifts {pos} shoulders in a shrug")),
    (r"\bscratches\b", ("scratches", "rubs", "itches")),
    (r"\bmarches\b", ("marches", "parades", "strides like a soldier", "marches in step")),
    (r"\blimps\b", ("limps", "hobbles", "walks with a limp", "walks lamely")),
    (r"\bstumbles\b", ("stumbles", "trips", "staggers", "loses footing")),
    (r"\bhops\b", ("hops", "bounces")),
    (r"\bkneels\b(?! down)", ("kneels", "genuflects")),
    (r"\btwists\b", ("twists", "rotates", "turns")),
    (r"\bshakes\b", ("shakes", "wags", "waggles")),
    (r"\bdoes\b(?= (a|an|the|some|several|\w+ \w+s)\b)", ("does", "performs", "executes", "carries out",
                                                            "completes", "goes through")),
    (r"\bholds\b(?= (a|the) ([\w-]+ )?(pose|position|stance|guard|posture))", ("holds", "maintains", "keeps",
                                                                             "sustains", "stays in")),
    (r"\bgets up\b", ("gets up", "stands up", "rises", "gets to {pos} feet")),
    (r"\btakes\b(?= (\w+ )?(steps?|strides?)\b)", ("takes", "makes", "walks")),
    (r"\bsteps\b(?= forward| backward)", ("steps", "strides", "paces")),
    (r"\bmoves\b", ("moves", "shifts", "travels")),
    (r"\bquick\b", ("quick", "fast", "rapid", "swift", "speedy")),
    (r"\bslow\b", ("slow", "unhurried", "gradual", "leisurely", "measured")),
    (r"\bsmall\b", ("small", "little", "tiny", "short")),
    (r"\bbig\b", ("big", "large", "wide", "broad")),
    (r"\bboth hands\b", ("both hands", "two hands", "both palms", "each hand")),
    (r"\bboth arms\b", ("both arms", "two arms", "each arm", "both limbs")),
    (r"\ba chair\b", ("a chair", "a stool", "a bench", "a kitchen chair", "an armchair", "a wooden chair")),
    (r"\bthe floor\b", ("the floor", "the ground", "the floor surface")),
    (r"\bthe ground\b", ("the ground", "the floor")),
    (r"\ba door\b", ("a door", "the door", "the front door", "a heavy door", "a wooden door")),
    (r"\b(the|some) stairs\b", ("the stairs", "a staircase", "a stairway", "some steps", "a flight of stairs")),
]
_SYN_RE = [(re.compile(p), alts) for p, alts in _SYN]


def synonyms(vp: str, rng: np.random.Generator, p: float = 0.45) -> str:
    """Replace words of a filled verb phrase by synonyms, each rule at most once, with probability p."""
    for pat, alts in _SYN_RE:
        if rng.random() >= p:
            continue
        m = pat.search(vp)
        if m is None:
            continue
        vp = vp[:m.start()] + m.expand(alts[int(rng.integers(len(alts)))]) + vp[m.end():]
    return vp


# ------------------------------------------------------------------ per-family extra phrases
# Templates in language.py syntax; only slots that the family's own parameters fill.
EXTRA: dict[str, tuple[str, ...]] = {
    "walk": ("takes a walk", "goes for a short walk", "(paces|treads) forward in a straight line",
             "walks in a straight line without turning", "covers some ground on foot"),
    "jog": ("goes for a jog", "jogs at a steady rhythm", "runs lightly forward", "jogs in a straight line",
            "does a light run forward"),
    "run": ("sprints ahead", "runs as fast as possible", "breaks into a run", "takes off running",
            "runs forward at a fast pace"),
    "sneak": ("sneaks ahead on the balls of {pos} feet", "creeps forward in a low crouch",
              "moves forward stealthily", "prowls forward", "tiptoes ahead bent low"),
    "walk_backward": ("backs up", "retreats backward", "reverses a few steps", "backs away",
                      "walks backward without turning around"),
    "side_step": ("shuffles sideways to the {side}", "moves laterally to the {side}", "steps sideways",
                  "side shuffles to the {side}", "crab walks to the {side}"),
    "turn_in_place": ("turns on the spot to the {side}", "pivots on the spot toward the {side}",
                      "rotates in place to the {side}", "changes direction, turning {side}"),
    "walk_arc": ("walks along a curve to the {side}", "curves {side} while walking",
                 "walks in a bending path toward the {side}", "strolls around a bend to the {side}"),
    "spin": ("twirls on the spot", "pirouettes to the {side}", "whirls around in place",
             "spins on {pos} feet"),
    "hop": ("hops on the {side} foot", "bounces on the {side} leg", "jumps on one foot, the {side} one"),
    "skip": ("skips along", "skips ahead cheerily", "does a skipping step forward", "skips across the room"),
    "jump_forward": ("leaps forward", "springs ahead", "jumps ahead with both feet", "bounds forward"),
    "jump_up": ("jumps straight up", "leaps upward", "springs into the air", "jumps in place"),
    "jumping_jacks": ("does star jumps", "exercises with jumping jacks", "does a set of jumping jacks",
                      "jumps while spreading the arms and legs"),
    "wave": ("waves {hand} in greeting", "says hi by waving {hand}", "greets someone with {hand}",
             "waves goodbye with {hand}", "waves hello with {hand}"),
    "point": ("points a finger", "points somewhere with {hand}", "indicates a direction with {hand}"),
    "clap": ("claps {pos} hands together", "applauds {times}", "claps {times}", "gives {n} claps"),
    "punch": ("throws punches with {fist}", "strikes the air with {fist}", "hits forward with {fist}",
              "shadowboxes with {fist}"),
    "throw": ("hurls a ball with {hand}", "flings a ball overhand", "throws something overhand with {hand}",
              "tosses a ball with {hand}"),
    "reach": ("extends {hand}", "stretches out {hand}", "reaches out with {hand}"),
    "salute": ("gives a military salute with {hand}", "salutes like a soldier", "snaps a salute"),
    "kick": ("kicks out with {leg} {times}", "kicks the air with {foot}", "kicks {times} with {leg}"),
    "squat": ("does {n} squats" , "squats down and up {times}", "performs {n} bodyweight squats",
              "bends {pos} knees deeply {times}"),
    "lunge": ("steps into a lunge with {leg} {times}", "lunges with {leg} {times}", "lunges with {leg}"),
    "knee_raise": ("lifts {leg} high", "brings {pos} {side} knee up", "raises the {side} knee up high"),
    "stomp": ("stamps {foot}", "stomps {foot} on the ground", "pounds {foot} down"),
    "balance": ("stands on the {side} leg", "balances on one leg, the {side} one",
                "stays balanced on the {side} foot"),
    "bow": ("takes a bow", "bows politely", "bends at the waist in a bow", "bows to an audience",
            "bows in respect"),
    "stretch": ("limbers up", "stretches {pos} body", "does a stretch", "loosens up with a stretch"),
    "crouch": ("squats down low", "hunkers down", "ducks down", "gets down low and rises"),
    "sit_floor": ("sits on the ground and gets up again", "takes a seat on the floor and rises",
                  "lowers {refl} to the floor, then stands"),
    "dance": ("dances around", "moves to the music", "grooves to a beat", "does a little dance",
              "dances on the spot"),
    "idle": ("stands around", "stays in one spot", "waits in place", "remains standing",
             "stands and waits"),
    "nod": ("nods {times}", "bobs {pos} head up and down", "nods yes"),
    "shake_head": ("shakes {pos} head no", "shakes {pos} head from side to side", "signals no with {pos} head"),
    "shrug": ("shrugs {pos} shoulders", "shrugs {pos} shoulders {times}", "lifts {pos} shoulders {times}"),
    "look_around": ("glances around", "scans the surroundings", "looks about the room",
                    "turns {pos} head to look around", "surveys the area"),
    "scratch_head": ("scratches {pos} head in confusion", "rubs {pos} head with {hand}",
                     "scratches the back of {pos} head"),
    "facepalm": ("buries {pos} face in {hand}", "does a facepalm", "puts {hand} over {pos} face"),
    "stop_sign": ("holds up {palm} to say stop", "raises {palm} as a stop signal",
                  "signals halt with {hand}"),
    "check_watch": ("glances at {pos} wristwatch", "looks at the time on {pos} watch",
                    "checks the time on {pos} wrist"),
    "beckon": ("beckons someone over with {hand}", "waves someone closer with {hand}",
               "motions for someone to come with {hand}"),
    "phone_call": ("answers a phone call", "holds a phone to {pos} ear", "makes a phone call",
                   "chats on the phone"),
    "texting": ("types on a phone", "reads a message on a phone", "scrolls on a phone",
                "texts on a cellphone"),
    "drink": ("sips from {the_obj} {times}", "drinks out of {the_obj}", "has a drink from {the_obj}",
              "brings {the_obj} to {pos} mouth and drinks"),
    "eat": ("bites into {the_obj} {times}", "munches on {the_obj}", "snacks on {the_obj}",
            "brings {the_obj} to {pos} mouth and eats"),
    "carry": ("carries {the_obj} in front of {refl}", "holds {the_obj} while walking", "hauls {the_obj}",
              "transports {the_obj}"),
    "pick_up": ("picks {the_obj} up from {where}", "retrieves {the_obj} from {where}",
                "collects {the_obj} from {where}"),
    "put_down": ("sets {the_obj} down on {where}", "places {the_obj} onto {where}",
                 "leaves {the_obj} on {where}", "deposits {the_obj} on {where}"),
    "sit_chair": ("takes a seat and then stands up", "sits on a seat and gets up again",
                  "settles into a chair and rises", "sits down for a moment and then gets up"),
    "kneel": ("kneels on the {side} knee", "genuflects on the {side} knee", "goes down on {pos} {side} knee"),
    "lie_down": ("lies flat on the floor and rises", "reclines on the ground and gets up",
                 "lies on the ground for a moment, then stands up"),
    "toe_touch": ("touches {pos} toes {times}", "reaches down to touch {pos} toes", "bends to touch {pos} feet"),
    "yoga": ("practices yoga", "holds a yoga pose", "does a yoga posture", "does the {pose}"),
    "arm_circles": ("circles {pos} arms {direction}", "makes {direction} circles with both arms",
                    "rotates both arms {direction} {times}"),
    "torso_twist": ("twists {pos} upper body {times}", "rotates {pos} trunk back and forth",
                    "does {n} trunk twists"),
    "catch": ("catches {the_obj} out of the air", "receives {the_obj} with both hands",
              "grabs {the_obj} as it flies in"),
    "throw_underhand": ("lobs {the_obj} underhand", "tosses {the_obj} underhand with {hand}",
                        "gently throws {the_obj} underhand"),
    "stairs_up": ("climbs {n} steps", "goes up {n} stairs", "ascends a flight of {n} steps",
                  "walks upstairs", "heads upstairs"),
    "stairs_down": ("goes down {n} stairs", "descends {n} steps", "walks downstairs", "heads downstairs"),
    "step_box": ("steps up onto a box and down again", "climbs onto a box and steps off",
                 "does a step-up onto a box"),
    "march": ("marches like a soldier", "marches forward {n} steps", "parades forward", "marches in step"),
    "tiptoe": ("walks on tiptoe", "tiptoes forward {n} steps", "walks on the tips of {pos} toes"),
    "limp": ("limps on the {side} leg", "hobbles forward", "walks with a limp, favoring the {side} leg"),
    "stumble": ("trips and regains {pos} balance", "stumbles while walking", "staggers and recovers"),
    "zombie_walk": ("shambles forward like a zombie", "lurches forward with arms out", "walks like the undead"),
    "drunk_walk": ("staggers forward like a drunk", "walks unsteadily", "sways and weaves while walking"),
    "pocket_walk": ("walks with hands in pockets", "strolls with {pos} hands tucked in {pos} pockets",
                    "walks casually with hands in pockets"),
    "push": ("pushes {the_obj} ahead", "shoves {the_obj} forward", "leans into {the_obj} to push it"),
    "pull": ("pulls {the_obj} toward {refl}", "drags {the_obj} backward", "tugs {the_obj}"),
    "open_door": ("opens a door with {hand}", "opens the door and steps through", "goes through a doorway"),
    "box_jab": ("jabs with {fist} {times}", "shadowboxes, jabbing {times}"),
    "box_cross": ("fires a cross with {fist} {times}",
                  "punches straight with {fist} {times}"),
    "box_hook": ("swings a hook with {fist} {times}",
                 "swings hooks with {fist}"),
    "box_uppercut": ("punches upward with {fist} {times}",
                     "drives an uppercut with {fist}"),
    "box_guard": ("raises both fists in a boxing guard", "takes a boxing stance", "guards {pos} face with {pos} fists"),
    "side_kick": ("kicks sideways with {leg}", "does a martial arts side kick with {leg} {times}"),
    "roundhouse_kick": ("throws a roundhouse kick with {leg} {times}",
                        "does a karate roundhouse kick with {leg} {times}"),
    "golf_swing": ("swings a golf club", "hits a golf ball", "takes a golf swing", "tees off"),
    "baseball_swing": ("swings a bat", "takes a swing with a baseball bat", "bats"),
    "baseball_pitch": ("pitches with {hand}", "throws a pitch with {hand}", "winds up and pitches"),
    "tennis": ("plays tennis", "hits a tennis ball", "swings a tennis racket"),
    "basketball_dribble": ("bounces a basketball with {hand}", "dribbles the ball with {hand}",
                           "dribbles {the_obj} {times}"),
    "basketball_shot": ("shoots {the_obj} at a hoop", "throws {the_obj} toward the basket"),
    "jump_rope": ("skips rope", "jumps over a rope {times}", "does jump rope"),
    "disco": ("dances disco", "does a disco move with {hand}", "grooves to disco music"),
    "twist_dance": ("dances the twist", "twists {pos} hips to the music", "does the twist dance"),
    "hip_hop": ("dances to hip hop music", "grooves hip hop style", "does a hip hop routine"),
    "salsa": ("dances the salsa", "does salsa steps", "moves {pos} hips in a salsa"),
    "waltz": ("waltzes", "dances a waltz", "does a waltz step"),
    "crawl": ("crawls on all fours", "creeps forward on {pos} hands and knees", "goes down and crawls ahead",
              "moves forward on all fours and stands back up"),
    "forward_roll": ("somersaults forward", "tumbles forward on the floor", "rolls head over heels",
                     "curls up and rolls forward"),
    "cartwheel": ("cartwheels toward the {side}", "turns a cartwheel to the {side}", "does a gymnastic cartwheel",
                  "flips sideways in a cartwheel to the {side}"),
}


# ------------------------------------------------------------------ framing, manner, tempo

PLACES = ("room", "living room", "kitchen", "bedroom", "office", "hallway", "corridor", "gym", "studio",
          "dance studio", "backyard", "garden", "park", "parking lot", "warehouse", "garage", "lobby",
          "classroom", "basement", "open field", "empty hall", "courtyard", "apartment", "house",
          "training hall", "rehearsal space", "open space", "motion capture studio", "lab", "plaza",
          "beach", "forest clearing", "street", "sidewalk", "alley", "rooftop", "balcony", "porch", "terrace",
          "stadium", "arena", "meadow", "lawn", "library", "museum", "gallery", "theater", "hotel lobby",
          "restaurant", "cafe", "shop", "mall", "supermarket", "train station", "airport", "hospital corridor",
          "school", "campus", "barn", "cabin", "cottage", "attic", "loft", "factory", "workshop",
          "playground", "town square", "bridge", "pier", "harbor", "dining room", "bathroom", "laundry room",
          "conference room", "waiting room", "gymnasium", "ballroom", "nightclub", "yoga studio",
          "boxing gym", "fitness center", "parking garage", "subway platform", "courtroom", "church hall",
          "hotel room", "dormitory", "locker room", "cafeteria", "bakery", "bookstore", "pharmacy", "bank",
          "post office", "gas station", "farmyard", "vineyard", "orchard", "riverbank", "lakeside",
          "hilltop", "valley", "desert", "jungle", "swamp", "snowfield", "ice rink", "tennis court",
          "basketball court", "baseball field", "soccer pitch", "running track", "skate park", "campsite",
          "village", "city center", "suburb", "neighborhood", "driveway", "patio", "greenhouse", "shed",
          "stairwell", "elevator lobby", "rooftop garden", "auditorium", "concert hall", "art studio")
PLACE_ADJ = ("", "", "", "small ", "large ", "empty ", "bright ", "quiet ", "spacious ", "wide ", "sunny ",
             "dim ", "cozy ", "modern ", "tiny ", "huge ", "carpeted ", "tiled ", "open ", "busy ", "grassy ",
             "sandy ", "clean ", "messy ", "narrow ", "familiar ", "well-lit ", "dark ")
WHEN = ("in the morning", "at night", "in the evening", "in the afternoon", "at noon", "at dawn",
        "at sunset", "on a sunny day", "on a rainy day", "on a weekend", "after work", "before breakfast",
        "late at night", "early in the day", "during the day", "on a cold winter day", "on a summer day",
        "on a windy afternoon", "at midnight", "on a holiday", "on a foggy morning", "at lunchtime",
        "on a spring morning", "on an autumn evening", "at twilight", "on a cloudy day", "on a hot day")
SCENE = ("in a {adj}{place}", "inside a {adj}{place}", "somewhere in a {adj}{place}", "in the {place}",
         "at home", "indoors", "outdoors", "on a stage", "on a flat floor", "on level ground",
         "in a {adj}{place} {when}", "{when}", "{when}", "out in the open")
PURPOSE = {  # what an action of a group may be for: framing that no parameter contradicts
    "legs": ("as part of a workout", "during a training session", "as a warm-up", "to warm up", "for exercise",
             "as a fitness drill", "in a fitness routine", "during gym class", "at the start of practice",
             "as part of physical therapy", "during a stretching routine", "to loosen up"),
    "body": ("as part of a workout", "as a warm-up", "for exercise", "during a yoga class", "in a daily routine",
             "to loosen up the muscles", "during physical education class", "while rehearsing a routine"),
    "jump": ("for exercise", "as a plyometric drill", "during a training session", "during recess",
             "as part of a cardio workout", "in the backyard"),
    "sport": ("during practice", "during a match", "in a training session", "at the start of a game",
              "while practicing alone", "as a drill", "during a tournament", "at a sports camp",
              "while training with a coach", "during a lesson"),
    "dance": ("at a party", "at a wedding", "at a club", "at a concert", "on a dance floor",
              "during a performance", "at a festival", "during a dance class", "at a celebration",
              "in front of an audience", "while rehearsing choreography", "to the rhythm of a song"),
    "arms": ("to someone across the room", "toward a friend", "for an audience", "during a presentation",
             "while giving a speech", "in front of a mirror", "during a rehearsal"),
    "gesture": ("during a conversation", "while talking to someone", "in a meeting", "in front of a crowd",
                "while listening to a friend", "as a reaction", "in response to a question"),
    "object": ("in the kitchen", "at the office", "at home", "in a warehouse", "in a store", "after work",
               "while cleaning up", "while tidying the room", "during chores"),
    "locomotion": ("on the way to work", "while exploring the area", "during a tour", "on the way home",
                   "on the way to a meeting", "while looking for something", "after getting off a bus",
                   "around some obstacles", "while sightseeing", "during a fire drill", "while patrolling",
                   "to reach a destination", "while searching for a friend", "during rehearsal"),
    "ground": ("on a gym mat", "during a gymnastics class", "on the living room floor", "on a soft mat",
               "in a play area", "on the carpet", "on the grass", "during tumbling practice"),
    "idle": ("while waiting for a bus", "while waiting for someone", "in a queue", "in line at a store",
             "before a meeting", "at a bus stop"),
}
TRAVEL = ("across the room", "down the hallway", "along the sidewalk", "through the park", "toward the door",
          "toward the exit", "along a path", "across the street", "down the corridor", "along the beach",
          "over the grass", "toward a friend", "across the yard", "along the track", "through the lobby",
          "across an empty parking lot", "down a quiet street", "toward a window", "across the stage",
          "along a trail", "across a field", "toward the kitchen", "down the aisle", "past a row of chairs",
          "toward a parked car", "along the riverbank", "across the lobby", "toward the stage",
          "along a fence", "beside a wall", "toward the elevator", "across the courtyard", "down the block",
          "through a doorway", "along the shoreline", "toward the mailbox", "around the gym", "past the window",
          "toward the counter", "across the bridge", "down the ramp")
STRAIGHT = {"walk", "jog", "run", "sneak", "march", "tiptoe", "limp", "pocket_walk", "zombie_walk",
            "drunk_walk", "stumble", "walk_backward"}
SHOW_VERBS = ("shows", "depicts", "features", "presents", "displays", "captures", "portrays", "illustrates")
MEDIA = ("video", "clip", "animation", "recording", "sequence", "motion capture", "footage", "rendering",
         "demo", "scene", "snippet", "take", "capture", "3d animation", "short clip")
MANNER = ("smoothly", "steadily", "naturally", "fluidly", "deliberately", "calmly",
          "in a relaxed way", "in a controlled manner", "with ease", "in one fluid motion", "at an even pace",
          "without hesitation", "in a natural way", "in a normal manner", "effortlessly", "comfortably",
          "precisely", "firmly", "evenly", "methodically", "purposefully", "consistently", "neatly",
          "fluently", "with control", "with precision", "in a measured way", "with good form",
          "in a composed manner", "in a matter-of-fact way", "plainly", "simply", "attentively",
          "mechanically", "rhythmically", "systematically", "accurately", "routinely",
          "competently", "skillfully", "expertly", "properly", "correctly", "cleanly", "fully", "thoroughly")
# Tempo words are used for nothing else (no family phrase or synonym says them), so a test can check them.
FAST = ("at a quick tempo", "at a brisk tempo", "in a hurry", "with a quick rhythm", "at a high tempo",
        "hurriedly", "in quick time")
SLOW = ("at a slow tempo", "at a leisurely tempo", "without rushing", "in a slow manner", "at a gentle tempo",
        "in no hurry", "at an unhurried tempo")
_SPEEDY = re.compile(r"\b(quick|quickly|fast|slow|slowly|rapid|rapidly|brisk|briskly|hurr\w*|sprint\w*|dash\w*|"
                     r"run\w*|jog\w*|leisurely|race\w*|swift\w*|speed\w*|pace|unhurried\w*|rush\w*|"
                     r"without hurry|at speed|hast\w*)\b")


def names_speed(text: str) -> bool:
    return _SPEEDY.search(text) is not None


def scene(rng: np.random.Generator) -> str:
    s = SCENE[int(rng.integers(len(SCENE)))].replace("{when}", WHEN[int(rng.integers(len(WHEN)))])
    place = PLACES[int(rng.integers(len(PLACES)))]
    adj = PLACE_ADJ[int(rng.integers(len(PLACE_ADJ)))]
    s = s.replace("{adj}", adj).replace("{place}", place)
    return s.replace("a a", "an a").replace("a e", "an e").replace("a o", "an o").replace("a i", "an i")


def media_frame(rng: np.random.Generator) -> str:
    """'the clip depicts' / 'this short animation shows' ..."""
    det = ("the", "this", "this", "the following")[int(rng.integers(4))]
    return f"{det} {MEDIA[int(rng.integers(len(MEDIA)))]} {SHOW_VERBS[int(rng.integers(len(SHOW_VERBS)))]}"


# ------------------------------------------------------------------ objects with adjectives

COLOURS = ("red", "blue", "green", "yellow", "white", "black", "brown", "grey", "pink", "purple", "silver",
           "golden", "dark", "bright", "striped", "shiny")
OBJECT_ADJ = {
    "heavy": ("box", "crate", "package", "bucket", "large box", "cardboard box", "parcel", "stack of books",
              "suitcase", "sack", "crate of bottles", "toolbox", "rope", "cart", "table", "sofa", "wardrobe"),
    "big": ("box", "crate", "basket", "package", "parcel", "bucket", "ball", "suitcase", "sack"),
    "wooden": ("box", "crate", "tray", "chair", "spoon", "bat", "stick", "table", "cart"),
    "plastic": ("cup", "bottle", "bucket", "basket", "tray", "toy", "water bottle", "ball", "bag", "spoon"),
    "small": ("cup", "ball", "book", "phone", "bottle", "pen", "key", "toy", "box", "bag", "apple", "rock",
              "notebook", "coin", "snack", "cookie", "sandwich", "stone", "package", "glass", "plate"),
    "metal": ("can", "bucket", "key", "bottle", "toolbox", "spoon", "tray", "cup"),
    "ceramic": ("mug", "cup", "plate"),
    "paper": ("cup", "bag", "plate"),
    "leather": ("bag", "wallet", "ball", "shoe"),
    "hot": ("cup of coffee", "mug", "cup of tea"),
    "cold": ("can", "glass of water", "water bottle", "bottle", "soda"),
    "fresh": ("apple", "sandwich", "banana", "piece of bread", "slice of pizza", "orange", "pear"),
    "full": ("glass of water", "cup of coffee", "bucket", "basket", "laundry basket", "cup of tea"),
}
COLOURED = {"cup", "ball", "book", "bottle", "pen", "toy", "shoe", "hat", "bag", "towel", "notebook", "mug",
            "box", "bucket", "basket", "tray", "frisbee", "bean bag", "water bottle", "can", "phone", "plate",
            "softball", "glove", "sock", "umbrella", "backpack", "balloon", "scarf", "folder", "crate"}


def object_forms(obj: str) -> list[str]:
    """Noun phrases for an object: 'the cup', 'a cup', and with an adjective ('a small red cup')."""
    an = "an" if obj[0] in "aeiou" else "a"
    out = [f"the {obj}", f"{an} {obj}"]
    adjs = [a for a, objs in OBJECT_ADJ.items() if obj in objs and not obj.startswith(a)]
    if obj in COLOURED:
        adjs += list(COLOURS)
    for a in adjs:
        art = "an" if a[0] in "aeiou" else "a"
        out += [f"{art} {a} {obj}", f"the {a} {obj}"]
    return out
