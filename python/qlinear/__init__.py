"""qlinear: quantized linear-layer kernels (GPTQ, AWQ, compressed-tensors, FP8, NVFP4, MXFP8).

The C++ library's choice, reasons and kernels on numpy arrays and torch tensors, read and
written in place through DLPack. Errors are ValueError (the caller's tensors, configs or
checkpoints: qlinear's own message), TypeError (an object that is not a tensor) or RuntimeError
(a kernel or device failure).

    config = qlinear.default_config("mixed_precision", 4096, 4096, act_type="fp16", out_type="fp16")
    layer = qlinear.Layer(config, weights)          # weights: dict of canonical tensors
    y = layer.forward(x)                            # x: [..., K] of config.act_type
    print(layer.choice)                             # the kernel, and why the others were passed over

numpy has no bf16, float8 or 4-bit types: such tensors are given as their bits (uint16, uint8,
uint8 two codes a byte), and qlinear.encode / qlinear.decode convert values to and from them.
"""

from . import _frameworks
from ._qlinear import (
    Choice,
    LayerConfig,
    Tensor,
    decode,
    encode,
    env,
    families,
    kernels,
    random_activations,
    random_layer,
    reference,
    scalar_types,
    select,
)
from ._qlinear import Checkpoint as _Checkpoint
from ._qlinear import _default_config, _Layer

__all__ = [
    "Checkpoint",
    "Choice",
    "Layer",
    "LayerConfig",
    "Tensor",
    "decode",
    "default_config",
    "encode",
    "env",
    "families",
    "kernels",
    "load_layer",
    "random_activations",
    "random_layer",
    "reference",
    "scalar_types",
    "select",
]


def default_config(family, n, k, **fields):
    """The family's typical layer of shape [n, k], with `fields` set (any LayerConfig attribute).

    As `qlinear select` does with its flags, choosing scales without a group (per_channel,
    per_tensor, per_token) clears the group sizes the family's default had, unless given too.
    Raises ValueError naming the first field the family does not accept.
    """
    config = _default_config(family, n, k)
    if fields.get("weight_scale") not in (None, "per_group", "block"):
        fields.setdefault("group_size", 0)
    if fields.get("weight_scale") not in (None, "block"):
        fields.setdefault("block_n", 0)
    if fields.get("act_scale") not in (None, "per_group"):
        fields.setdefault("act_group_size", 0)
    for field, value in fields.items():
        if not hasattr(config, field):
            raise TypeError(f"default_config: LayerConfig has no field '{field}'")
        setattr(config, field, value)
    config.validate()
    return config


class Layer:
    """A quantized linear layer: y = x · Wᵀ (+ bias) by the kernel qlinear chose for `device`.

    `weights` maps weight, weight_scale, weight_zero_point, weight_global_scale, g_idx,
    input_scale, input_zero_point and bias to tensors in qlinear's canonical layout
    (qlinear/kernel.hpp); those not on `device` are copied there once. `kernel` forces a kernel
    by name; `disabled` passes over kernels by name.
    """

    def __init__(self, config, weights, device="cpu", *, kernel=None, disabled=()):
        tensors = {name: _frameworks.exported(t) for name, t in weights.items() if t is not None}
        self._bind(_Layer(config, tensors, str(device), kernel or "", list(disabled)))

    @classmethod
    def _wrap(cls, impl):
        layer = cls.__new__(cls)
        layer._bind(impl)
        return layer

    def _bind(self, impl):
        self._impl = impl
        self._forward_into = impl.forward_into
        config = impl.config
        self._n = config.part_n
        self._out_type = config.out_type

    @property
    def config(self):
        return self._impl.config

    @property
    def choice(self):
        """The chosen kernel (choice.kernel), and why each one ahead of it was passed over."""
        return self._impl.choice

    @property
    def kernel(self):
        return self._impl.kernel

    @property
    def device(self):
        return self._impl.device

    @property
    def tolerance(self):
        """The kernel's bound on |y - reference| as a fraction of Σ_k |x̂·ŵ| + |bias|."""
        return self._impl.tolerance

    @property
    def bias(self):
        return self._impl.bias

    @property
    def name(self):
        """The layer's name in its checkpoint ('' when built from tensors)."""
        return self._impl.name

    @property
    def format(self):
        """How the checkpoint stored it, e.g. 'gptq v1 4-bit act order' ('' from tensors)."""
        return self._impl.format

    def forward(self, x, out=None):
        """x · Wᵀ (+ bias) for x of shape [..., K]; written into `out` when given, else into a new
        tensor of x's kind (numpy array, torch tensor or qlinear.Tensor) on x's device. A torch
        CUDA tensor runs on the current stream."""
        if out is None:
            out = _frameworks.new_output(x, self._n, self._out_type)
        self._forward_into(_frameworks.exported(x), _frameworks.exported(out), _frameworks.stream_of(x))
        return out

    __call__ = forward

    def __repr__(self):
        return f"<qlinear.Layer {self.config.describe()} kernel={self.kernel} on {self.device}>"


class Checkpoint(_Checkpoint):
    """A checkpoint folder: its linear layers (layers(), inspect()) and load() of each."""

    def load(self, layer, device="cpu", *, tp_rank=0, tp_size=1, tp_split=None, kernel=None,
             disabled=()):
        """The layer `layer` (e.g. 'model.layers.0.mlp.down_proj') on `device`; with tp_size > 1,
        rank tp_rank's shard of the split tp_split ('columns' or 'rows'; by default rows for
        o_proj / down_proj-like layers), read from the files alone (the other ranks' rows or
        columns are not touched)."""
        return Layer._wrap(self._load(layer, str(device), tp_rank, tp_size, tp_split, kernel or "",
                                      list(disabled)))


def load_layer(model_dir, layer_name, device="cpu", *, tp_rank=0, tp_size=1, tp_split=None,
               kernel=None, disabled=()):
    """One layer of a checkpoint folder as a Layer (see Checkpoint.load)."""
    return Checkpoint(model_dir).load(layer_name, device, tp_rank=tp_rank, tp_size=tp_size,
                                      tp_split=tp_split, kernel=kernel, disabled=disabled)
