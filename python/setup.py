"""pip install of the package: `pip install --no-build-isolation ./python` (offline, with Debian's
setuptools, pybind11-dev and numpy). The extension is built by the project's CMake, with
libqlinear linked in statically so that the installed package needs no build folder; a CUDA
toolkit found by CMake builds the CUDA providers too, and torch with its C++ headers the custom
op's C++ kernels (qlinear._torch_op). QLINEAR_CMAKE_ARGS adds CMake options (e.g.
-DQLINEAR_CUDA=OFF, -DQLINEAR_TORCH_OP=OFF)."""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = Path(self.build_temp).resolve() / "cmake"
        subprocess.check_call([
            "cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
            "-DQLINEAR_TESTS=OFF", "-DQLINEAR_PYTHON=ON", "-DBUILD_SHARED_LIBS=OFF",
            f"-DPython3_EXECUTABLE={sys.executable}",
            *shlex.split(os.environ.get("QLINEAR_CMAKE_ARGS", ""))])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "qlinear_python_modules",
                               "--parallel", str(os.cpu_count() or 1)])
        (built,) = (build / "python" / "qlinear").glob("_qlinear*.so")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)
        # The custom op's C++ kernels, where torch and its headers were found (python/CMakeLists.txt).
        for torch_op in (build / "python" / "qlinear").glob("_torch_op*.so"):
            shutil.copyfile(torch_op, target.parent / torch_op.name)


setup(
    name="qlinear",
    version=re.search(r"project\(qlinear VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text()).group(1),
    description="Quantized linear-layer kernels (GPTQ, AWQ, compressed-tensors, FP8, NVFP4, MXFP8)",
    packages=["qlinear"],
    ext_modules=[Extension("qlinear._qlinear", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    install_requires=["numpy"],
    python_requires=">=3.9",
)
