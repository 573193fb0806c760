"""Fused CPU kernels (numba) for the MFF-SSIM value and its gradient."""
