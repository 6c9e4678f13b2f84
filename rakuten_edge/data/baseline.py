"""The text-only yardstick of issue 13: TF-IDF + logistic regression on product texts.

On 8,000 real product texts it scores about 0.67; on 10,000 texts of the old generator 0.84. It keeps the
generator honest: a demo that looks good because the classes became easy would show here first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def tfidf_accuracy(
    texts: Sequence[str], labels: Sequence[int], seed: int = 0, val_share: float = 0.2, solver: str = "lbfgs"
) -> float:
    """Validation accuracy of TF-IDF (word uni- and bigrams, sublinear tf) + logistic regression.

    `solver` only changes how the same regularized objective is minimized: on 10,000 generated texts lbfgs took
    29 s (87 iterations) for 0.8145, newton-cg 17 s (7 iterations) for 0.8140 (AMD EPYC, 2 cores). The published
    figures use lbfgs."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        list(texts), np.asarray(labels), test_size=val_share, random_state=seed, stratify=np.asarray(labels)
    )
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    model = LogisticRegression(max_iter=1000, C=10.0, solver=solver)
    model.fit(vectorizer.fit_transform(x_train), y_train)
    return float((model.predict(vectorizer.transform(x_val)) == y_val).mean())
