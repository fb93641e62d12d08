from backend.data.postag import tag_caption


def test_tags_and_lemmas_like_humanml3d():
    assert tag_caption("a man kicks something with his left leg.") == \
        "a/DET man/NOUN kick/VERB something/PRON with/ADP his/DET left/ADJ leg/NOUN"
    assert tag_caption("A person is running fast then stops") == \
        "a/DET person/NOUN be/AUX run/VERB fast/ADV then/ADV stop/VERB"


def test_noun_verb_ambiguity_resolved_by_context():
    assert "circle/NOUN" in tag_caption("walks in a circle")
    assert "circle/VERB" in tag_caption("he circles around")


def test_extra_lexicon_overrides():
    assert tag_caption("a person moonwalks", extra={"moonwalks": "VERB"}).endswith("moonwalk/VERB")
