"""Reusable semi-supervised data: splits, mixed batches and built-in data sets."""

from ssl_kit.datamodules.cifar10 import CIFAR10DataModule
from ssl_kit.datamodules.digits import DigitsDataModule
from ssl_kit.datamodules.image_folder import ImageFolderDataModule
from ssl_kit.datamodules.images import ImageDataModule, RawImages
from ssl_kit.datamodules.labeled_unlabeled import (
    LabeledUnlabeledDataModule,
    MixedBatch,
    TensorDataModule,
    dataset_to_tensors,
    default_data_dir,
)
from ssl_kit.datamodules.mnist import MNISTDataModule
from ssl_kit.datamodules.sampler import MixedBatchSampler
from ssl_kit.datamodules.sklearn_sets import BlobsDataModule as BlobsDataModule, SklearnTableDataModule as SklearnTableDataModule
from ssl_kit.datamodules.split_data import SplitDataModule
from ssl_kit.datamodules.splits import SplitIndices, class_balanced_split
from ssl_kit.datamodules.svhn import SVHNDataModule
from ssl_kit.datamodules.tabular import TabularDataModule
from ssl_kit.datamodules.text import NewsgroupsDataModule, RottenTomatoesDataModule, TextDataModule
from ssl_kit.datamodules.toy import ToyDataModule
from ssl_kit.datamodules.transforms import AlbumentationsBatch, BatchTranslateFlip, build_augmentation, scale_images
from ssl_kit.datamodules.zca import ZCA, fit_zca_cached

__all__ = [
    "AlbumentationsBatch",
    "BatchTranslateFlip",
    "CIFAR10DataModule",
    "DigitsDataModule",
    "ImageDataModule",
    "ImageFolderDataModule",
    "LabeledUnlabeledDataModule",
    "MNISTDataModule",
    "MixedBatch",
    "MixedBatchSampler",
    "NewsgroupsDataModule",
    "RawImages",
    "RottenTomatoesDataModule",
    "SVHNDataModule",
    "SplitDataModule",
    "SplitIndices",
    "TabularDataModule",
    "TensorDataModule",
    "TextDataModule",
    "ToyDataModule",
    "ZCA",
    "build_augmentation",
    "class_balanced_split",
    "dataset_to_tensors",
    "default_data_dir",
    "fit_zca_cached",
    "scale_images",
]
