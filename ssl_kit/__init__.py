"""ssl_kit: semi-supervised learning on PyTorch Lightning."""

__version__ = "0.1.0"
