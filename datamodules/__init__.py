"""Reusable semi-supervised data: splits, mixed batches and built-in data sets."""

from datamodules.cifar10 import CIFAR10DataModule
from datamodules.digits import DigitsDataModule
from datamodules.image_folder import ImageFolderDataModule
from datamodules.images import ImageDataModule, RawImages
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
from datamodules.svhn import SVHNDataModule
from datamodules.text import NewsgroupsDataModule, RottenTomatoesDataModule, TextDataModule
from datamodules.toy import ToyDataModule
from datamodules.transforms import AlbumentationsBatch, BatchTranslateFlip, build_augmentation, scale_images
from datamodules.zca import ZCA, fit_zca_cached

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
    "SplitIndices",
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
