"""Validate a vector before a cosine index sees it: right dimension, finite, not all zeros.

A wrong-size or degenerate vector is a caller's mistake (another embedding model, a broken
embedder); services answer it with opaque errors or silently wrong rankings, so the adapters
refuse it first with a message that names the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import BadRequest


def checked_cosine_vector(embedding: Any, dimension: int, what: str, where: str) -> list[float]:
    """``embedding`` as a list of floats, or ``BadRequest`` saying what is wrong with it.

    ``what`` names the vector ("query embedding"), ``where`` the index it is meant for
    ("index 'chunks'").
    """
    vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dimension:
        raise BadRequest(
            f"{what} has {vector.shape[0]} dimensions but {where} holds {dimension}; "
            "use the workspace's embedding model"
        )
    if not np.all(np.isfinite(vector)) or not np.any(vector):
        raise BadRequest(f"{what} is zero or not finite; a cosine index refuses it")
    return [float(x) for x in vector]
