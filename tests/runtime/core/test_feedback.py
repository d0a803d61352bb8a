"""Dense pseudo-relevance feedback moves the query vector towards its first hits."""

import numpy as np
import pytest
from chorus.runtime.core.feedback import feedback_query


def test_the_moved_query_is_closer_to_the_feedback_than_the_query_was():
    query = np.array([1.0, 0.0, 0.0])
    hits = [np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.8, 0.6])]
    moved = feedback_query(query, hits, 0.5)
    centroid = np.mean(hits, axis=0)
    assert float(moved @ centroid) > float(query @ centroid)
    assert float(moved @ query) > 0.5


def test_the_moved_query_has_unit_length():
    moved = feedback_query(np.array([3.0, 4.0]), [np.array([0.0, 10.0])], 1.0)
    assert np.linalg.norm(moved) == pytest.approx(1.0)


def test_weight_one_points_halfway_between_query_and_centroid():
    moved = feedback_query(np.array([2.0, 0.0]), [np.array([0.0, 5.0])], 1.0)
    assert moved == pytest.approx(np.array([1.0, 1.0]) / np.sqrt(2))


def test_no_feedback_or_zero_weight_leaves_the_query_as_it_was():
    query = np.array([0.6, 0.8])
    assert feedback_query(query, [], 0.5) == pytest.approx(query)
    assert feedback_query(query, [np.array([1.0, 0.0])], 0.0) == pytest.approx(query)


def test_a_negative_weight_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        feedback_query(np.array([1.0]), [np.array([1.0])], -0.1)
