"""The frameworks whose tensors qlinear takes: numpy, torch, qlinear.Tensor. Outputs are made in
the input's framework; torch is only looked at when the caller has imported it."""

import sys

import numpy

from ._qlinear import Tensor

# numpy has no bf16: it is carried as its bits.
_NUMPY_TYPES = {"fp32": numpy.float32, "fp16": numpy.float16, "bf16": numpy.uint16}
_TORCH_TYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _torch_tensor(x):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor), torch


def new_output(x, n, dtype):
    """An uninitialised [..., n] tensor of qlinear type `dtype`, of x's kind, on x's device."""
    is_torch, torch = _torch_tensor(x)
    if not (is_torch or isinstance(x, (numpy.ndarray, Tensor))):
        raise TypeError(f"x is a {type(x).__name__}; expected a numpy array, a torch tensor or a "
                        "qlinear.Tensor (or pass out=)")
    shape = (*x.shape[:-1], n) if len(x.shape) else (n,)
    if is_torch:
        return torch.empty(shape, dtype=getattr(torch, _TORCH_TYPES[dtype]), device=x.device)
    if isinstance(x, Tensor):
        return Tensor.empty(dtype, list(shape), x.device)
    return numpy.empty(shape, _NUMPY_TYPES[dtype])


def exported(t):
    """What crosses into qlinear for t: a torch tensor's DLPack capsule (torch.utils.dlpack, which,
    unlike Tensor.__dlpack__, also takes tensors that require grad: qlinear's forward is not
    differentiable and reads only the data), anything else as it is."""
    is_torch, torch = _torch_tensor(t)
    return torch.utils.dlpack.to_dlpack(t) if is_torch else t


def stream_of(x):
    """The CUDA stream a call on x runs on: torch's current stream for a torch CUDA tensor, else
    the default stream (0)."""
    if getattr(x, "is_cuda", False):
        is_torch, torch = _torch_tensor(x)
        if is_torch:
            return current_stream_getter(torch)(x.get_device())
    return 0


def current_stream_getter(torch):
    """A function of a CUDA device index giving torch's current stream there as a cudaStream_t
    integer (the capturing stream inside torch.cuda.graph). torch.cuda.current_stream(i).cuda_stream
    builds a torch.cuda.Stream object in Python each call; newer PyTorch has the raw getter that
    its own generated code (and Triton) calls."""
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    return raw or (lambda index: torch.cuda.current_stream(index).cuda_stream)
