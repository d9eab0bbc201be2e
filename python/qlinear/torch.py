"""qlinear in PyTorch: the custom op torch.ops.qlinear.linear and the module QuantizedLinear.

    linear = qlinear.torch.QuantizedLinear.from_linear(torch.nn.Linear(4096, 4096, dtype=torch.bfloat16))
    y = linear(x)                                   # torch.ops.qlinear.linear(x, linear.layer_id)
    linear(x, out=y)                                # torch.ops.qlinear.linear.out(..., out=y)

The op takes x and the id of a live layer (the layer's weights are no tensors of the graph, so an
integer names it, as a constant to torch.compile; a freed layer's id raises ValueError). It has a
fake (meta) implementation, which torch.compile needs; its CPU and CUDA kernels run the layer on x
in place and write a new tensor from torch's allocator (or the caller's `out`), on the current CUDA
stream, so CUDA graphs can capture it. The kernels are C++ (the extension qlinear._torch_op, built
against this torch: the dispatcher calls them without a Python frame) where it was built, else
Python ones over the same layers; `op_kernels` says which ("C++" or "Python"), and
QLINEAR_TORCH_OP_KERNELS=python chooses the Python ones. The fake implementation is registered with
torch.library.register_fake (PyTorch >= 2.4), impl_abstract (2.1 - 2.3) or, on older PyTorch
(Debian's 1.13), as the Meta and AutogradMeta kernels.
"""

import os
import warnings
import weakref

import torch

from . import Layer, _frameworks, _qlinear, default_config, load_layer
from .quantize import quantize_weights

_TORCH_TYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_QLINEAR_TYPES = {dtype: name for name, dtype in _TORCH_TYPES.items()}

_current_stream = _frameworks.current_stream_getter(torch)


def _output_like(x, layer_id):
    n, dtype = _qlinear._op_output(layer_id)
    return x.new_empty((*x.shape[:-1], n), dtype=_TORCH_TYPES[dtype])


def _linear_out(x, layer_id, *, out):
    _qlinear._op_forward(layer_id, x, out, _current_stream(x.get_device()) if x.is_cuda else 0)
    return out


def _linear(x, layer_id):
    return _linear_out(x, layer_id, out=_output_like(x, layer_id))


def _out_as_given(x, layer_id, *, out):
    return out


def _register_cpp_kernels():
    """Registers the C++ kernels of qlinear._torch_op, where it was built for this torch; says
    whether it did."""
    if os.environ.get("QLINEAR_TORCH_OP_KERNELS", "").lower() == "python":
        return False
    try:
        from . import _torch_op
    except ImportError:  # not built (no torch headers), or built for a torch that is gone
        return False
    if _torch_op.torch_version != torch.__version__:
        warnings.warn(f"qlinear._torch_op was built for torch {_torch_op.torch_version}, not "
                      f"{torch.__version__}: the op runs its Python kernels (rebuild qlinear)")
        return False
    _torch_op.register_kernels()
    return True


def _register_op():
    library = torch.library.Library("qlinear", "DEF")
    library.define("linear(Tensor x, int layer) -> Tensor")
    # The out= overload writes into the caller's tensor (checked as Layer.forward checks it): a
    # call without an allocation, which is most of the op's cost over the kernel's on a GPU.
    library.define("linear.out(Tensor x, int layer, *, Tensor(a!) out) -> Tensor(a!)")
    kernels = "C++" if _register_cpp_kernels() else "Python"
    register_fake = getattr(torch.library, "register_fake", None) or getattr(
        torch.library, "impl_abstract", None)
    for overload, kernel, fake in (("linear", _linear, _output_like),
                                   ("linear.out", _linear_out, _out_as_given)):
        if kernels == "Python":
            library.impl(overload, kernel, "CPU")
            library.impl(overload, kernel, "CUDA")
        if register_fake is not None:
            register_fake(f"qlinear::{overload}", fake, lib=library)
        else:  # PyTorch 1.13 has no autograd fallthrough for meta tensors either
            library.impl(overload, fake, "Meta")
            library.impl(overload, fake, "AutogradMeta")
    return library, kernels


_library, op_kernels = _register_op()
# The op's overloads, called directly: torch.ops.qlinear.linear(...) looks the namespace and the
# op up in Python each call, and then the overload packet picks the overload.
_linear_op = torch.ops.qlinear.linear.default
_linear_out_op = torch.ops.qlinear.linear.out


class QuantizedLinear(torch.nn.Module):
    """A drop-in for torch.nn.Linear whose weights are quantized: forward(x) for x [..., K] of
    the layer's activation dtype runs torch.ops.qlinear.linear. The weights live in the kernel's
    own layout on the layer's device (Module.to() does not move them: build it on the device)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        config = layer.config
        self.in_features, self.out_features = config.part_k, config.part_n
        self.layer_id = _qlinear._op_register(layer._impl)
        weakref.finalize(self, _qlinear._op_release, self.layer_id)

    def forward(self, x, out=None):
        """y = x · Wᵀ (+ bias) as a new tensor, or written into `out` ([..., N], contiguous, of
        the layer's output dtype, on x's device), which is returned."""
        if out is None:
            return _linear_op(x.contiguous(), self.layer_id)
        return _linear_out_op(x.contiguous(), self.layer_id, out=out)

    @classmethod
    def from_checkpoint(cls, model_dir, layer_name, device="cpu", **options):
        """One layer of a checkpoint folder (options as for qlinear.load_layer: tp_rank, tp_size,
        tp_split, kernel, disabled)."""
        return cls(load_layer(model_dir, layer_name, device, **options))

    @classmethod
    def from_linear(cls, linear, family="mixed_precision", device=None, kernel=None, **fields):
        """`linear`'s weight quantized by the reference quantizer (qlinear.quantize) into the
        family's default config with `fields` set, in the linear's dtype, with its bias, on
        `device` (default: the linear's)."""
        weight = linear.weight.detach()
        act_type = _QLINEAR_TYPES[weight.dtype]
        fields = {"act_type": act_type, "out_type": act_type, **fields}
        config = default_config(family, linear.out_features, linear.in_features,
                                bias=linear.bias is not None, **fields)
        tensors = quantize_weights(weight.to(torch.float64).cpu().numpy(), config)
        if linear.bias is not None:
            tensors["bias"] = linear.bias.detach().contiguous()
        return cls(Layer(config, tensors, device or weight.device, kernel=kernel))

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"{self.layer.config.describe()}, kernel={self.layer.kernel}")
