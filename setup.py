"""Install ssl_kit: semi-supervised learning methods on PyTorch Lightning."""

from setuptools import find_packages, setup

setup(
    name="ssl_kit",
    version="0.1.0",
    description="Semi-supervised learning (VAT, Improved GAN, Ladder / VAN) on PyTorch Lightning",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["ssl_kit", "ssl_kit.*", "datamodules", "datamodules.*"]),
    install_requires=[
        # Pinned: these builds lie on the target machines' disk and work together
        # (torch 2.13's CPU wheel does not load torchvision 0.29's operators).
        "torch==2.14.1",
        "torchvision==0.29.1",
        "pytorch-lightning==2.6.6",
        "torchmetrics>=1.9,<1.10",
        "jsonargparse[signatures]>=4.32",
        "rich>=13",
        "matplotlib>=3.7",
        "albumentations==2.0.8",
        "scipy>=1.10",  # torchvision's SVHN reader uses scipy.io.loadmat
    ],
    extras_require={"test": ["pytest>=8"]},
    entry_points={"console_scripts": ["ssl-kit=ssl_kit.cli:main"]},
)
