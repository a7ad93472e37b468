"""@cuda: CUDA toolkit headers (and NVRTC) from a local install; never downloads.

The toolkit root is $CUDA_PATH, else /usr/local/cuda. Targets:
  @cuda//:cuda_headers  host headers from <root>/include (cuda.h, nvrtc.h, ...),
                        without the large CCCL tree
  @cuda//:cccl_headers  CCCL (<cuda/std/...>, thrust, cub) from <root>/include/cccl
  @cuda//:nvrtc         cuda_headers + libnvrtc.so (the runtime compiler)
libcuda (the driver) is never linked: it is loaded at runtime (dlopen) by Kiln.

If no toolkit is found (e.g. a fresh Debian 12 CI machine) the repository still
loads: the targets above are empty and @cuda//:defs.bzl has
CUDA_AVAILABLE = False, so BUILD files can skip CUDA-only targets:
  load("@cuda//:defs.bzl", "CUDA_AVAILABLE")
"""

_BUILD_AVAILABLE = """\
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "cuda_headers",
    hdrs = glob(["include/**"], exclude = ["include/cccl/**"]),
    includes = ["include"],
)

cc_library(
    name = "cccl_headers",
    hdrs = glob(["include/cccl/**"]),
    includes = ["include/cccl"],
    deps = [":cuda_headers"],
)

cc_import(
    name = "libnvrtc",
    shared_library = "lib/{nvrtc}",
)

cc_library(
    name = "nvrtc",
    linkopts = ["-ldl"],
    deps = [
        ":cuda_headers",
        ":libnvrtc",
    ],
)
"""

_BUILD_MISSING = """\
# No CUDA toolkit found at {root}: empty placeholder targets.
package(default_visibility = ["//visibility:public"])

cc_library(name = "cuda_headers")

cc_library(name = "cccl_headers")

cc_library(name = "nvrtc")
"""

def _cuda_repository_impl(rctx):
    root_str = rctx.os.environ.get("CUDA_PATH", "") or "/usr/local/cuda"
    root = rctx.path(root_str)
    include = root.get_child("include")
    lib = root.get_child("lib64")
    if not lib.exists:
        lib = root.get_child("lib")

    # Prefer the SONAME file (libnvrtc.so.13) so the binary's _solib rpath finds it.
    nvrtc = None
    if lib.exists:
        for f in lib.readdir():
            parts = f.basename.split(".")
            if f.basename.startswith("libnvrtc.so.") and len(parts) == 3 and parts[2].isdigit():
                nvrtc = f.basename

    available = include.get_child("cuda.h").exists and nvrtc != None
    if available:
        rctx.symlink(include, "include")
        rctx.symlink(lib.get_child(nvrtc), "lib/" + nvrtc)
        rctx.file("BUILD.bazel", _BUILD_AVAILABLE.format(nvrtc = nvrtc))
    else:
        rctx.file("BUILD.bazel", _BUILD_MISSING.format(root = root_str))
    rctx.file("defs.bzl", "CUDA_AVAILABLE = {}\nCUDA_ROOT = {}\n".format(
        available,
        repr(root_str) if available else "None",
    ))
    rctx.file("WORKSPACE", 'workspace(name = "cuda")\n')

cuda_repository = repository_rule(
    implementation = _cuda_repository_impl,
    environ = ["CUDA_PATH"],
    local = True,
)
