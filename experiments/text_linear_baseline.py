"""What a user would try first on text: TF-IDF (word 1-2-grams) + logistic regression (scikit-learn).

Trained on exactly the labeled split a run of the text datamodules draws (same ``num_labeled``
and ``split_seed``), tested on the same test set; the TF-IDF vocabulary is fitted on the labeled
texts only (the baseline uses no unlabeled data). ``--all_labels`` trains on every training text.

Usage::

    python experiments/text_linear_baseline.py --dataset rotten_tomatoes --num_labeled 500
    python experiments/text_linear_baseline.py --dataset 20newsgroups --num_labeled 400 --split_seeds 0 1 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssl_kit.datamodules.text import NewsgroupsDataModule, RottenTomatoesDataModule  # noqa: E402
from ssl_kit.benchmark.reference import tfidf_logistic_regression  # noqa: E402

DATASETS = {"rotten_tomatoes": RottenTomatoesDataModule, "20newsgroups": NewsgroupsDataModule}


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
        errors.append(tfidf_logistic_regression(data, ns.all_labels, ns.C))
        labels = "all" if ns.all_labels else data.num_labeled
        print(f"{ns.dataset} labels={labels} split_seed={seed}: test error {errors[-1]:.2f} % "
              f"({time.time() - start:.1f} s)")
    print(f"mean {np.mean(errors):.2f} +- {np.std(errors):.2f} % over {len(errors)} split(s)")


if __name__ == "__main__":
    main()
