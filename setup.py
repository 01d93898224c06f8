"""Builds the robustagg Python module with CMake (setuptools drives it: pip
install ., pip wheel .). The metadata is in pyproject.toml; the version is
read from include/robustagg/version.hpp, its one definition (the three
ROBUSTAGG_VERSION_* numbers).

Only the module's target is built, Release, from the top-level CMakeLists.txt
with tests, benchmarks, examples and the CLI off: the kernels are compiled
once per SIMD architecture (SSE2, AVX2+FMA, AVX-512) and chosen at run time.
Environment: CMAKE_BUILD_PARALLEL_LEVEL (default: the CPU count) sets the
parallel jobs, CMAKE_ARGS adds CMake arguments (e.g. -DROBUSTAGG_SIMD_ARCHS=sse2).
Needs a C++17 compiler, CMake >= 3.21, Eigen >= 3.3 and xsimd 8 (Debian:
g++ cmake libeigen3-dev libxsimd-dev), pybind11 (pybind11-dev or the pybind11
package of the build environment) and Python's headers.
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def version():
    text = (ROOT / "include" / "robustagg" / "version.hpp").read_text()
    return ".".join(re.search(rf"#define ROBUSTAGG_VERSION_{part} (\d+)", text).group(1)
                    for part in ("MAJOR", "MINOR", "PATCH"))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        dest = Path(self.get_ext_fullpath(ext.name)).resolve()
        build = Path(self.build_temp).resolve() / "cmake"
        args = ["-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                f"-DPython3_EXECUTABLE={sys.executable}",
                "-DROBUSTAGG_BUILD_PYTHON=ON", "-DROBUSTAGG_PYTHON_TEST_HOOKS=OFF",
                "-DROBUSTAGG_BUILD_TESTS=OFF", "-DROBUSTAGG_BUILD_BENCHMARKS=OFF",
                "-DROBUSTAGG_BUILD_EXAMPLES=OFF", "-DROBUSTAGG_BUILD_TOOLS=OFF",
                "-DROBUSTAGG_INSTALL=OFF"]
        try:  # the pybind11 of this interpreter (Debian's python3-pybind11, or PyPI's in an isolated build)
            import pybind11
            args.append(f"-Dpybind11_DIR={pybind11.get_cmake_dir()}")
        except ImportError:
            pass  # CMake's own search (Debian: pybind11-dev)
        args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        cmake = shutil.which("cmake") or "cmake"
        subprocess.check_call([cmake, *args])
        subprocess.check_call([cmake, "--build", str(build), "--target", "robustagg_python",
                               "--config", "Release", "--parallel", jobs])
        built = glob.glob(str(build / "python" / "robustagg" / "_robustagg*"))
        built = [b for b in built if b.endswith((".so", ".pyd", ".dylib"))]
        if len(built) != 1:
            raise RuntimeError(f"robustagg: expected one built module in {build}/python/robustagg, got {built}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], dest)


setup(
    version=version(),
    ext_modules=[CMakeExtension("robustagg._robustagg")],
    cmdclass={"build_ext": CMakeBuild},
)
