"""The float64 oracle of the Python tests: y = x̂ · ŵᵀ + bias from the reference's decoded
operands, and each output's error as a fraction of Σ_k |x̂·ŵ| + |bias| (the scale kernels state
their tolerance in; see Kernel::tolerance)."""
import numpy as np

import qlinear


def expected(config, weights, x):
    """(y as float64 [M, N], the magnitude Σ|x̂·ŵ| + |bias| [M, N]) for x [..., K]."""
    w = qlinear.reference.dequantize_weights(config, weights)
    x_hat = qlinear.reference.activations(config, weights, x)
    bias = weights.get("bias")
    b = np.zeros(w.shape[0]) if bias is None else qlinear.decode(bias)
    return x_hat @ w.T + b, np.abs(x_hat) @ np.abs(w).T + np.abs(b)


def relative_error(y, config, weights, x):
    """max |y - y_ref| / magnitude over the outputs; y is any tensor of the layer's out_type."""
    ref, magnitude = expected(config, weights, x)
    got = qlinear.decode(y, config.out_type).reshape(ref.shape)
    assert np.abs(ref).max() > 0, "a comparison of zeros proves nothing"
    return float(np.max(np.abs(got - ref) / np.maximum(magnitude, 1e-300)))
