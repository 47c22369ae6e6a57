"""Semi-supervised methods as LightningModules."""

from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.ladder import LadderNetwork, VirtualAdversarialLadder
from ssl_kit.methods.supervised import Supervised

__all__ = ["LadderNetwork", "SSLModule", "Supervised", "VirtualAdversarialLadder"]
