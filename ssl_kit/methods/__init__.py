"""Semi-supervised methods as LightningModules."""

from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.improved_gan import ImprovedGAN
from ssl_kit.methods.supervised import Supervised

__all__ = ["ImprovedGAN", "SSLModule", "Supervised"]
