"""ZCA whitening fitted on training images, with a disk cache keyed by a hash of its inputs.

ZCA (zero-phase component analysis) whitening maps an input ``x`` (flattened to ``D`` values)
to ``W (x - mu)`` with ``mu`` the training mean and

    W = U diag(1 / sqrt(lambda + eps)) U^T,

where ``C = U diag(lambda) U^T`` is the eigendecomposition of the training covariance
``C = (1/N) sum_n (x_n - mu)(x_n - mu)^T``. The whitened training data then has covariance
``U diag(lambda / (lambda + eps)) U^T``, i.e. the identity up to ``eps``. The VAT paper
(Miyato et al. 2018, Sec. 4.2) and the Ladder paper (Rasmus et al. 2015, Sec. 4.3) whiten
CIFAR-10 this way. (The VAT reference code adds its regulariser *after* the square root,
``1/sqrt(lambda) + 1e-6``; we use the textbook form with ``eps`` inside the root, which
differs only for eigenvalues near zero.)

Fitting on 50,000 CIFAR-10 images (D = 3072) costs a D x D covariance and its
eigendecomposition (measured: 104 s for 50,000 x 3072 on two busy CPU cores, plus 6 s to hash
the inputs), so :func:`fit_zca_cached` stores the
result in ``cache_dir`` under a BLAKE2 hash of the exact training tensor and ``eps``: a second run
loads it, and any change of the data (other files, scaling, subset) changes the hash and fits
again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)

_CACHE_FORMAT = 1  # bump when the stored fields or the maths change (invalidates old files)


@dataclass
class ZCA:
    """A fitted ZCA transform ``x -> W (x - mean)`` stored in factored form.

    ``W = V diag(scale) V^T + null_scale (I - V V^T)``: ``V`` (D x k) spans the directions the
    training data varies in; when there are fewer examples than dimensions (k < D) the
    remaining directions have eigenvalue 0 and get ``null_scale = 1/sqrt(eps)``, exactly as the
    full D x D matrix would give them.

    Attributes:
        mean: training mean, shape ``(D,)``.
        basis: eigenvectors ``V``, shape ``(D, k)``.
        scale: ``1 / sqrt(lambda + eps)`` per eigenvector, shape ``(k,)``.
        null_scale: scale of the orthogonal complement of ``basis`` (0 when k = D).
    """

    mean: torch.Tensor
    basis: torch.Tensor
    scale: torch.Tensor
    null_scale: float

    @classmethod
    def fit(cls, x: torch.Tensor, eps: float = 1e-6, chunk: int = 4096) -> ZCA:
        """Fit on ``x`` of shape ``(N, ...)`` (flattened per example), in float64.

        Args:
            x: training inputs.
            eps: regulariser added to every eigenvalue (in the units of ``x`` squared).
            chunk: rows per step when accumulating the covariance (bounds the memory).
        """
        if eps <= 0:
            raise ValueError(f"ZCA eps must be > 0, got {eps}.")
        flat = x.reshape(len(x), -1)
        n, d = flat.shape
        if n < 2:
            raise ValueError(f"ZCA needs at least 2 training examples, got {n}.")
        mean = torch.zeros(d, dtype=torch.float64)
        for rows in flat.split(chunk):
            mean += rows.to(torch.float64).sum(0)
        mean /= n
        if n >= d:  # covariance route: D x D, accumulated in chunks
            cov = torch.zeros(d, d, dtype=torch.float64)
            for rows in flat.split(chunk):
                centred = rows.to(torch.float64) - mean
                cov.addmm_(centred.T, centred)
            eigvals, basis = torch.linalg.eigh(cov / n)
            null_scale = 0.0
        else:  # fewer examples than dimensions: eigendecomposition of the N x N Gram matrix
            centred = flat.to(torch.float64) - mean
            gram_vals, gram_vecs = torch.linalg.eigh(centred @ centred.T / n)
            # C and the Gram matrix share their non-zero eigenvalues; eigenvector u of the Gram
            # matrix gives C's eigenvector centred^T u / sqrt(n lambda). Zero ones (rank <= N-1)
            # belong to the null space, which null_scale covers.
            keep = gram_vals > gram_vals.max() * 1e-10
            eigvals = gram_vals[keep]
            basis = centred.T @ gram_vecs[:, keep] / (n * eigvals).sqrt()
            null_scale = float(eps) ** -0.5
        scale = (eigvals.clamp_min(0) + eps).rsqrt()
        return cls(mean.float(), basis.float(), scale.float(), null_scale)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Whiten ``x`` of shape ``(N, ...)``; returns float32 of the same shape."""
        flat = x.reshape(len(x), -1).to(torch.float32) - self.mean
        d, k = self.basis.shape
        if k == d and not self.null_scale:  # full rank: one product with the dense W
            return (flat @ self.matrix()).reshape(x.shape)
        out = ((flat @ self.basis) * (self.scale - self.null_scale)) @ self.basis.T
        if self.null_scale:
            out += self.null_scale * flat
        return out.reshape(x.shape)

    def matrix(self) -> torch.Tensor:
        """The dense ``D x D`` whitening matrix ``W`` (for checks; large for big D)."""
        dense = (self.basis * self.scale) @ self.basis.T
        if self.null_scale:
            dense += self.null_scale * (torch.eye(len(dense)) - self.basis @ self.basis.T)
        return dense


def inputs_hash(x: torch.Tensor, eps: float) -> str:
    """A hash of everything a ZCA fit depends on: the tensor's values, shape, dtype and ``eps``."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"zca-v{_CACHE_FORMAT}|{tuple(x.shape)}|{x.dtype}|{eps!r}|".encode())
    h.update(x.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def fit_zca_cached(x: torch.Tensor, eps: float = 1e-6, cache_dir: str | Path | None = None) -> ZCA:
    """Fit ZCA on ``x``, or load the fit from ``cache_dir`` when the same inputs were seen before.

    The cache file is ``cache_dir/zca-<hash>.pt`` with the hash of :func:`inputs_hash`; when
    ``cache_dir`` is ``None`` or cannot be written, the fit is simply not cached.
    """
    if cache_dir is None:
        return ZCA.fit(x, eps)
    path = Path(cache_dir) / f"zca-{inputs_hash(x, eps)}.pt"
    if path.exists():
        log.info("Loading the ZCA fit from %s", path)
        return ZCA(**torch.load(path, weights_only=True))
    zca = ZCA.fit(x, eps)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(vars(zca), tmp)
        tmp.replace(path)  # atomic: a concurrent rank never reads half a file
        log.info("Cached the ZCA fit in %s", path)
    except OSError as err:
        log.warning("Could not cache the ZCA fit in %s (%s); it will be recomputed next time.", cache_dir, err)
    return zca
