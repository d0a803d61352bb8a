"""Agreement: pairwise similarity of answers, the medoid, and whether it separates right from
wrong answers on a small QA set (AUROC printed, asserted only above chance)."""

from __future__ import annotations

import numpy as np
import pytest
from chorus.runtime.core.agreement import (
    AgreementScorer,
    EmbeddingAgreementScorer,
    PairwiseAgreementScorer,
    agreement_score,
    result_from_matrix,
    strip_citations,
)


def test_strip_citations_removes_single_and_grouped_markers():
    assert strip_citations("Lava is molten rock [1]. It flows [2, 3].") == (
        "Lava is molten rock. It flows."
    )


def test_one_answer_has_no_agreement_but_is_its_own_medoid():
    result = result_from_matrix(np.ones((1, 1)))

    assert (result.score, result.medoid, result.per_answer) == (None, 0, [None])


def test_no_answer_has_no_medoid():
    result = result_from_matrix(np.zeros((0, 0)))

    assert (result.score, result.medoid) == (None, None)


def test_medoid_is_the_answer_closest_to_all_others():
    matrix = np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.3], [0.2, 0.3, 1.0]])

    result = result_from_matrix(matrix)

    assert result.medoid == 1
    assert result.score == pytest.approx((0.9 + 0.2 + 0.3) / 3)
    assert result.per_answer == pytest.approx([0.55, 0.6, 0.25])


def test_paraphrases_agree_more_than_contradictions(embedder):
    same = agreement_score(
        ["Mount Fuji is a stratovolcano in Japan.", "Fuji, in Japan, is a stratovolcano [1]."],
        embedder,
    )
    different = agreement_score(
        ["Mount Fuji is a stratovolcano in Japan.", "Sourdough rises with wild yeast."], embedder
    )

    assert same.score > different.score + 0.3


def test_outlier_answer_is_never_the_medoid(embedder):
    answers = [
        "Worker bees turn nectar into honey inside the hive.",
        "Honey is made by worker bees from nectar in the hive [2].",
        "The Sicilian Defence answers e4 with the c-pawn.",
    ]

    result = agreement_score(answers, embedder)

    assert result.medoid in (0, 1)
    assert result.per_answer[2] < min(result.per_answer[0], result.per_answer[1])


class _WordOverlapJudge:
    """A stand-in NLI: Jaccard overlap of word sets (directional to exercise symmetrising)."""

    def similarity(self, question: str, first: str, second: str) -> float:
        a, b = set(first.lower().split()), set(second.lower().split())
        return len(a & b) / max(1, len(a))


def test_pairwise_judge_plugs_in_as_a_scorer():
    scorer: AgreementScorer = PairwiseAgreementScorer(_WordOverlapJudge())

    result = scorer.score("q", ["red apple pie", "red apple", "blue car"])

    assert result.medoid in (0, 1)
    assert result.pairwise[0][1] == result.pairwise[1][0]  # symmetrised
    assert result.per_answer[2] == 0.0


# -- evaluation: do wrong answers get lower agreement? ------------------------------------------

QA_SET = [
    {
        "question": "What is the boiling point of water at sea level?",
        "right": [
            "Water boils at 100 degrees Celsius at sea level.",
            "At sea level the boiling point of water is 100 °C (212 °F).",
            "It boils at 100 degrees Celsius under standard atmospheric pressure.",
        ],
        "wrong": [
            "Water boils at 50 degrees Celsius at sea level.",
            "The boiling point of water is 150 degrees Fahrenheit.",
        ],
    },
    {
        "question": "Who wrote Pride and Prejudice?",
        "right": [
            "Pride and Prejudice was written by Jane Austen.",
            "Jane Austen wrote it; it was published in 1813.",
            "The novel is by the English author Jane Austen.",
        ],
        "wrong": [
            "It was written by Charles Dickens.",
            "Emily Brontë is the author of Pride and Prejudice.",
        ],
    },
    {
        "question": "How does sourdough bread rise?",
        "right": [
            "Sourdough rises thanks to a starter of wild yeast and lactic acid bacteria.",
            "A starter culture of wild yeasts and lactobacilli makes sourdough rise.",
            "Wild yeast in the sourdough starter produces gas that leavens the dough.",
        ],
        "wrong": [
            "Sourdough rises because baking soda is added to the dough.",
            "It rises from the steam of boiling the loaf before baking.",
        ],
    },
    {
        "question": "Why do honeybees perform a waggle dance?",
        "right": [
            "The waggle dance tells other bees the direction and distance of flowers.",
            "Bees dance to show the colony where food sources such as flowers are.",
            "Foragers use the waggle dance to communicate the location of nectar.",
        ],
        "wrong": [
            "The waggle dance is a mating ritual performed by the queen.",
            "Bees dance to keep the hive warm in winter.",
        ],
    },
    {
        "question": "What does castling do in chess?",
        "right": [
            "Castling moves the king two squares toward a rook, which jumps over it.",
            "In castling the king shifts two squares towards a rook to reach safety.",
            "It lets the king move two squares toward a rook while the rook crosses over.",
        ],
        "wrong": [
            "Castling promotes a pawn to a queen on the last rank.",
            "Castling lets a bishop move like a knight for one turn.",
        ],
    },
    {
        "question": "What is the capital of Australia?",
        "right": [
            "The capital of Australia is Canberra.",
            "Canberra is Australia's capital city.",
            "Australia's seat of government and capital is Canberra.",
        ],
        "wrong": [
            "The capital of Australia is Sydney.",
            "Melbourne is the capital of Australia.",
        ],
    },
    {
        "question": "What causes the seasons on Earth?",
        "right": [
            "Seasons are caused by the tilt of Earth's axis relative to its orbit.",
            "The axial tilt of about 23.4 degrees makes sunlight strike at different angles.",
            "Because Earth's axis is tilted, hemispheres get more or less direct sunlight.",
        ],
        "wrong": [
            "Seasons happen because Earth gets much closer to the Sun in summer.",
            "The Moon's gravity pulls warm air north and south to make seasons.",
        ],
    },
    {
        "question": "What gas do plants absorb for photosynthesis?",
        "right": [
            "Plants take in carbon dioxide for photosynthesis.",
            "They absorb CO2, carbon dioxide, from the air to photosynthesise.",
            "Photosynthesis uses carbon dioxide and water to make sugars.",
        ],
        "wrong": [
            "Plants absorb oxygen and release nitrogen during photosynthesis.",
            "Plants absorb helium from the soil for photosynthesis.",
        ],
    },
]


def auroc(scores: list[float], labels: list[int]) -> float:
    """Probability that a random right answer outscores a random wrong one (ties count 1/2)."""
    positives = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    negatives = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def test_auroc_of_a_perfect_and_a_reversed_ranking():
    assert auroc([0.9, 0.8, 0.1], [1, 1, 0]) == 1.0
    assert auroc([0.1, 0.8, 0.9], [1, 0, 0]) == 0.0


def test_wrong_answers_get_lower_agreement_than_right_ones(embedder):
    """Per question, 3 right answers from "models" that agree and 2 wrong ones that are wrong
    in their own ways; each answer's score is its mean agreement with the other four."""
    scorer = EmbeddingAgreementScorer(embedder)
    scores: list[float] = []
    labels: list[int] = []
    medoid_right = 0
    for item in QA_SET:
        answers = item["right"] + item["wrong"]
        result = scorer.score(item["question"], answers)
        scores.extend(result.per_answer)  # type: ignore[arg-type]
        labels.extend([1] * len(item["right"]) + [0] * len(item["wrong"]))
        medoid_right += int(result.medoid is not None and result.medoid < len(item["right"]))

    measured = auroc(scores, labels)
    print(
        f"\nagreement AUROC (right vs wrong, {len(labels)} answers): {measured:.3f}; "
        f"medoid right in {medoid_right}/{len(QA_SET)} questions"
    )
    assert measured > 0.5


def test_answers_with_a_flipped_number_conflict():
    from chorus.runtime.core.agreement import find_conflicts

    conflicts = find_conflicts(
        [
            "The default chunk size is 1,000 characters [1].",
            "By default a chunk is 2,000 characters long.",
            "Chunks hold 1,000 characters by default.",
        ]
    )

    assert [(c.first, c.second) for c in conflicts] == [(0, 1), (1, 2)]
    assert [(d.kind, d.claim, d.source) for d in conflicts[0].differences] == [
        ("number", "1000 character", "2000 character")
    ]


def test_contradicting_answers_score_as_disagreeing_whatever_their_cosine(embedder):
    result = agreement_score(
        ["Canberra is the capital of Australia.", "Sydney is the capital of Australia."],
        embedder,
    )

    assert result.score == 0.0
    assert [d.kind for d in result.conflicts[0].differences] == ["entity"]


def test_the_wrong_answer_of_three_has_the_lowest_agreement(embedder):
    result = agreement_score(
        [
            "Aurora can pause at zero capacity when it is idle.",
            "Aurora cannot pause at zero capacity when it is idle.",
            "When idle, Aurora pauses at zero capacity.",
        ],
        embedder,
    )

    assert result.per_answer[1] == min(result.per_answer)
    assert result.medoid != 1


def test_confidence_scales_agreement_by_grounding():
    from chorus.runtime.core.agreement import answer_confidence

    assert answer_confidence(0.8, 1.0) > answer_confidence(0.8, 0.0) > 0.0


def test_a_contradicted_answer_loses_most_of_its_confidence():
    from chorus.runtime.core.agreement import answer_confidence

    assert answer_confidence(0.9, 1.0, contradicted=True) < answer_confidence(0.5, 0.5)


def test_missing_signals_count_as_neutral():
    from chorus.runtime.core.agreement import answer_confidence

    assert answer_confidence(None, None) == answer_confidence(1.0, 0.5)
