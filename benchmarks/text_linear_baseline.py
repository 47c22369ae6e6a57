"""What a user would try first on text: TF-IDF (word 1-2-grams) + logistic regression (scikit-learn).

Trained on exactly the labeled split a run of the text datamodules draws (same ``num_labeled``
and ``split_seed``), tested on the same test set; the TF-IDF vocabulary is fitted on the labeled
texts only (the baseline uses no unlabeled data). ``--all_labels`` trains on every training text.

Usage::

    python benchmarks/text_linear_baseline.py --dataset rotten_tomatoes --num_labeled 500
    python benchmarks/text_linear_baseline.py --dataset 20newsgroups --num_labeled 400 --split_seeds 0 1 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datamodules.text import NewsgroupsDataModule, RottenTomatoesDataModule, TextDataModule  # noqa: E402

DATASETS = {"rotten_tomatoes": RottenTomatoesDataModule, "20newsgroups": NewsgroupsDataModule}


def linear_baseline_error(data: TextDataModule, all_labels: bool = False, c: float = 1.0) -> float:
    """Test error (%) of TF-IDF (1-2-grams, sublinear tf) + logistic regression on the labeled split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    y_train = data.labels["train"].numpy()
    split = data.resolve_split(data.labels["train"])
    rows = np.setdiff1d(np.arange(len(y_train)), split.val) if all_labels else np.asarray(split.labeled)
    texts = [data.texts["train"][i] for i in rows]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(texts)
    classifier = LogisticRegression(C=c, max_iter=2000).fit(features, y_train[rows])
    predicted = classifier.predict(vectorizer.transform(data.texts["test"]))
    return float(100.0 * (predicted != data.labels["test"].numpy()).mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--num_labeled", type=int, default=None, help="default: the datamodule's")
    parser.add_argument("--split_seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--all_labels", action="store_true", help="train on every training text")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength (scikit-learn default 1)")
    ns = parser.parse_args(argv)
    errors = []
    for seed in ns.split_seeds:
        start = time.time()
        kwargs = {"split_seed": seed} | ({"num_labeled": ns.num_labeled} if ns.num_labeled else {})
        data = DATASETS[ns.dataset](**kwargs)
        errors.append(linear_baseline_error(data, ns.all_labels, ns.C))
        labels = "all" if ns.all_labels else data.num_labeled
        print(f"{ns.dataset} labels={labels} split_seed={seed}: test error {errors[-1]:.2f} % "
              f"({time.time() - start:.1f} s)")
    print(f"mean {np.mean(errors):.2f} +- {np.std(errors):.2f} % over {len(errors)} split(s)")


if __name__ == "__main__":
    main()
