"""Warm-up inputs: rows spread over a model's training distribution.

A tree ensemble's first visit of each branch is slow (code and nodes are faulted into
the caches, the branch predictors learn); rows of zeros visit one path per tree. These
rows take each feature through the training part's quantile bins (the manifest's drift
references), one value per bin and beyond both ends, combined differently per feature so
the rows do not move in lock-step.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from bitunix.ml.manifest import FeatureReference

#: Rows run at load (on the loading thread) and, of those, run again on the loop
#: thread after a hot swap.
LOAD_ROWS = 64
SWAP_ROWS = 16


def _values(edges: Sequence[float]) -> list[float]:
    if not edges:
        return [0.0]
    lo, hi = edges[0], edges[-1]
    pad = (hi - lo) or 1.0
    inner = [(a + b) / 2.0 for a, b in pairwise(edges)]
    return [lo - pad, *edges, *inner, hi + pad]


def warmup_rows(
    references: Sequence[FeatureReference],
    feature_names: Sequence[str],
    count: int = LOAD_ROWS,
) -> npt.NDArray[np.float32]:
    """``count`` rows of ``feature_names`` values (float32) spread over ``references``.

    A feature without a reference is 0.0 in every row.
    """
    by_name = {r.name: r for r in references}
    rows = np.zeros((count, len(feature_names)), dtype=np.float32)
    for j, name in enumerate(feature_names):
        ref = by_name.get(name)
        if ref is None:
            continue
        values = _values(ref.edges)
        n = len(values)
        # Each pass of n rows visits every value; each pass shifts the features against
        # each other differently, so the combinations vary.
        for r in range(count):
            rows[r, j] = values[(r + j + (r // n) * (j + 1)) % n]
    return rows
