"""Semi-supervised methods as LightningModules, registered by class name in :data:`METHODS`."""

from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.improved_gan import ImprovedGAN
from ssl_kit.methods.ladder import LadderNetwork, VirtualAdversarialLadder
from ssl_kit.methods.registry import METHODS, get_method, register_method
from ssl_kit.methods.supervised import Supervised
from ssl_kit.methods.vat import VAT

__all__ = [
    "METHODS",
    "ImprovedGAN",
    "LadderNetwork",
    "SSLModule",
    "Supervised",
    "VAT",
    "VirtualAdversarialLadder",
    "get_method",
    "register_method",
]
