#!/usr/bin/python3
"""The pip path as a user takes it, from a clean copy of the sources.

    pip_install.py SOURCE_DIR [CLI]

1. Copies the files git tracks (and untracked, non-ignored ones: a clean
   clone's files plus work not yet committed; never build directories) to a
   temporary directory.
2. Makes a fresh venv with --system-site-packages (Debian's numpy, torch,
   setuptools, wheel, pybind11 stay visible) and runs, offline,
   `pip wheel --no-build-isolation --no-deps` on the copy (CMake builds the
   module target only, Release, CMAKE_BUILD_PARALLEL_LEVEL jobs, default 2),
   then `pip install` of the wheel; `pip show` must give the header's version.
3. Runs the Python test suite (the copy's python/tests, except the
   multi-process test_torch_distributed.py) against the installed package, not
   the build tree: PYTHONPATH is cleared, the working directory
   is outside the sources, and the tests check robustagg.__file__ is in the
   venv (ROBUSTAGG_EXPECT_PREFIX).
4. `pip uninstall -y`; then `pip install .` on the same copy (its CMake
   build directory is kept in the copy, so this second build is incremental)
   and `pip uninstall` again; after each uninstall `import robustagg` fails.
Prints the time of each step. Exit code 0 when every step passed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def log(msg):
    print(msg, flush=True)


def run(cmd, **kw):
    log("+ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def copy_sources(src, dst):
    try:
        out = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(src):
            dirs[:] = [d for d in dirs if d != ".git" and not d.startswith("build")]
            files += [os.path.relpath(os.path.join(root, n), src) for n in names]
    n = 0
    for f in files:
        path = os.path.join(src, f)
        if not os.path.isfile(path):  # deleted in the work tree
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(path, os.path.join(dst, f))
        n += 1
    return n


def header_version(src):
    text = open(os.path.join(src, "include", "robustagg", "version.hpp")).read()
    return ".".join(re.search(rf"#define ROBUSTAGG_VERSION_{p} (\d+)", text).group(1)
                    for p in ("MAJOR", "MINOR", "PATCH"))


def check_not_importable(py, cwd):
    r = subprocess.run([py, "-c", "import robustagg"], cwd=cwd, capture_output=True, text=True)
    if r.returncode == 0:
        raise SystemExit("FAILED: robustagg is still importable after pip uninstall")


def main():
    src = os.path.abspath(sys.argv[1])
    cli = sys.argv[2] if len(sys.argv) > 2 else ""
    tmp = tempfile.mkdtemp(prefix="robustagg-pip-")
    times = {}
    try:
        copy = os.path.join(tmp, "src")
        t = time.monotonic()
        log(f"copied {copy_sources(src, copy)} files to {copy}")
        venv = os.path.join(tmp, "venv")
        run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv])
        py = os.path.join(venv, "bin", "python")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1",
                   CMAKE_BUILD_PARALLEL_LEVEL=os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2"))
        times["copy + venv"] = time.monotonic() - t

        t = time.monotonic()
        wheels = os.path.join(tmp, "wheels")
        run([py, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", wheels, copy],
            env=env, cwd=tmp)
        times["pip wheel (full build)"] = time.monotonic() - t
        wheel = [w for w in os.listdir(wheels) if w.startswith("robustagg-") and w.endswith(".whl")]
        if len(wheel) != 1:
            raise SystemExit(f"FAILED: expected one robustagg wheel, got {os.listdir(wheels)}")
        version = header_version(src)
        if not wheel[0].startswith(f"robustagg-{version}-"):
            raise SystemExit(f"FAILED: wheel {wheel[0]} does not carry version {version}")

        t = time.monotonic()
        run([py, "-m", "pip", "install", "--no-deps", os.path.join(wheels, wheel[0])], env=env, cwd=tmp)
        show = run([py, "-m", "pip", "show", "robustagg"], env=env, cwd=tmp, capture_output=True,
                   text=True).stdout
        if f"Version: {version}\n" not in show:
            raise SystemExit(f"FAILED: pip show does not give version {version}:\n{show}")
        times["pip install + show"] = time.monotonic() - t

        t = time.monotonic()
        test_env = dict(env, ROBUSTAGG_EXPECT_PREFIX=venv)
        if cli:
            test_env["ROBUSTAGG_CLI"] = cli
        # test_torch_distributed (process groups of several ranks over gloo, the
        # slowest file) runs against the build tree only: it tests the same
        # module's functions through torch.distributed, not the packaging.
        run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(copy, "python", "tests"),
             "--ignore=" + os.path.join(copy, "python", "tests", "test_torch_distributed.py")],
            env=test_env, cwd=tmp)
        times["pytest on the installed package"] = time.monotonic() - t

        t = time.monotonic()
        run([py, "-m", "pip", "uninstall", "-y", "robustagg"], env=env, cwd=tmp)
        check_not_importable(py, tmp)
        run([py, "-m", "pip", "install", "--no-build-isolation", "--no-deps", copy], env=env, cwd=tmp)
        run([py, "-c", "import robustagg, robustagg.attacks; print(robustagg.__version__, robustagg.__file__)"],
            env=env, cwd=tmp)
        run([py, "-m", "pip", "uninstall", "-y", "robustagg"], env=env, cwd=tmp)
        check_not_importable(py, tmp)
        times["pip install . (incremental) + uninstall"] = time.monotonic() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for k, v in times.items():
        log(f"time: {k}: {v:.1f} s")
    log("pip path ok")


if __name__ == "__main__":
    main()
