"""Semi-supervised methods as LightningModules, registered by class name in :data:`METHODS`."""

from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.imsat import IMSAT
from ssl_kit.methods.fixmatch import FixMatch
from ssl_kit.methods.improved_gan import ImprovedGAN
from ssl_kit.methods.ladder import LadderNetwork, VirtualAdversarialLadder
from ssl_kit.methods.mean_teacher import MeanTeacher
from ssl_kit.methods.pi_model import PiModel
from ssl_kit.methods.pseudo_label import PseudoLabel
from ssl_kit.methods.registry import METHODS, get_method, register_method
from ssl_kit.methods.supervised import Supervised
from ssl_kit.methods.vat import VAT

__all__ = [
    "IMSAT",
    "METHODS",
    "FixMatch",
    "ImprovedGAN",
    "LadderNetwork",
    "MeanTeacher",
    "PiModel",
    "PseudoLabel",
    "SSLModule",
    "Supervised",
    "VAT",
    "VirtualAdversarialLadder",
    "get_method",
    "register_method",
]
