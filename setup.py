"""Install ssl_kit: semi-supervised learning methods on PyTorch Lightning.

``install_requires`` holds lower bounds, so installing the toolkit never downgrades a user's
environment; ``constraints.txt`` holds the exact versions tested here
(``pip install -c constraints.txt -e '.[test]'``).
"""

from setuptools import find_packages, setup

setup(
    name="ssl_kit",
    version="0.1.0",
    description="Semi-supervised learning (VAT, Improved GAN, Ladder / VAN) on PyTorch Lightning",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=[*find_packages(include=["ssl_kit", "ssl_kit.*", "datamodules"]), "ssl_kit_configs"],
    # The top-level configs/ folder is installed as ssl_kit_configs, so that
    # `ssl-kit fit --config vat/mnist_quick` finds the shipped configs from any folder.
    package_dir={"ssl_kit_configs": "configs"},
    package_data={"ssl_kit_configs": ["*.yaml", "*/*.yaml", "*/*/*.yaml"]},
    install_requires=[
        "torch>=2.4",
        "torchvision>=0.19",
        "pytorch-lightning>=2.4",
        "torchmetrics>=1.4",
        "jsonargparse[signatures]>=4.32",
        "rich>=13",
        "matplotlib>=3.7",
        "albumentations>=2.0",
        "scipy>=1.10",  # torchvision's SVHN reader uses scipy.io.loadmat
        "PyYAML>=6",
        "tokenizers>=0.15",  # the word-level vocabulary of TextDataModule
        "pandas>=2.0",  # tables from CSV / TSV / Parquet files
        "pyarrow>=14",  # Parquet
        "scikit-learn>=1.3",  # the tables' encoders and imputers, the bundled small data sets, TF-IDF
    ],
    extras_require={
        "test": ["pytest>=8", "datasets>=2.14", "submitit>=1.5", "ruff>=0.6"],
        # `ssl-kit benchmark --launcher submitit`: a grid's runs as SLURM jobs
        "cluster": ["submitit>=1.5"],
        "tensorboard": ["tensorboard>=2.12"],
        # TextDataModule.from_hf / datasets.Dataset inputs:
        "extras": ["datasets>=2.14"],
    },
    entry_points={"console_scripts": ["ssl-kit=ssl_kit.cli.commands:main"]},
)
