"""Reference models without a training loop, for benchmark rows beside the networks.

A reference is a ``callable(datamodule) -> test error (%)`` named in a grid's method entry
(``reference: ssl_kit.benchmark.reference.tfidf_logistic_regression``); the runner builds the datamodule
from the entry's config, exactly as for the other rows, and records the returned error.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def tfidf_logistic_regression(data: Any, all_labels: bool = False, c: float = 1.0) -> float:
    """Test error (%) of TF-IDF (word 1-2-grams, sublinear tf) + logistic regression (scikit-learn).

    What a user tries first on text: trained on exactly the labeled split the datamodule draws
    (its ``num_labeled`` and ``split_seed``), tested on its test texts. The vocabulary is fitted on
    the labeled texts only; no unlabeled text is used. Deterministic given the split.

    Args:
        data: a :class:`ssl_kit.datamodules.TextDataModule` (raw ``texts`` and ``labels`` per split).
        all_labels: train on every training text outside the validation split instead.
        c: inverse L2 strength of the logistic regression (scikit-learn's default 1).

    Raises:
        TypeError: ``data`` holds no raw texts (not a text datamodule).
        ImportError: scikit-learn is missing (``pip install scikit-learn``).
    """
    if not isinstance(getattr(data, "texts", None), dict) or "train" not in data.texts:
        raise TypeError(f"tfidf_logistic_regression needs a TextDataModule (raw texts), got {type(data).__name__}; "
                        "use a text config (e.g. configs/supervised/rotten_tomatoes.yaml) for this row.")
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError as err:
        raise ImportError("tfidf_logistic_regression needs scikit-learn: pip install scikit-learn") from err
    y_train = data.labels["train"].numpy()
    split = data.resolve_split(data.labels["train"])
    rows = np.setdiff1d(np.arange(len(y_train)), split.val) if all_labels else np.asarray(split.labeled)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform([data.texts["train"][i] for i in rows])
    classifier = LogisticRegression(C=c, max_iter=2000).fit(features, y_train[rows])
    predicted = classifier.predict(vectorizer.transform(data.texts["test"]))
    return float(100.0 * (predicted != data.labels["test"].numpy()).mean())
