"""Reusable semi-supervised data: splits, mixed batches and built-in data sets."""

from datamodules.labeled_unlabeled import (
    LabeledUnlabeledDataModule,
    MixedBatch,
    TensorDataModule,
    dataset_to_tensors,
    default_data_dir,
)
from datamodules.mnist import MNISTDataModule
from datamodules.sampler import MixedBatchSampler
from datamodules.splits import SplitIndices, class_balanced_split
from datamodules.toy import ToyDataModule

__all__ = [
    "LabeledUnlabeledDataModule",
    "MNISTDataModule",
    "MixedBatch",
    "MixedBatchSampler",
    "SplitIndices",
    "TensorDataModule",
    "ToyDataModule",
    "class_balanced_split",
    "dataset_to_tensors",
    "default_data_dir",
]
