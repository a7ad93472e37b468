"""@torch: an optional, local LibTorch for the benchmarks only; never downloads.

Kiln itself never depends on LibTorch and CI does not install it. Only //benchmarks:kiln_bench
uses it, to measure the same workloads through LibTorch in the same process.

Where LibTorch is looked for:
  $LIBTORCH           an unpacked LibTorch distribution (<root>/include, <root>/lib), else
  Debian's libtorch-dev (LibTorch 1.13: /usr/include/{ATen,c10,torch},
                      /usr/lib/x86_64-linux-gnu/libtorch_cpu.so, libc10.so).
Targets:
  @torch//:torch      ATen/c10 headers (+ the C++ frontend's include dir, api/) and
                      libtorch_cpu + libc10
If LibTorch is not found the repository still loads: @torch//:torch is empty and
@torch//:defs.bzl has TORCH_AVAILABLE = False, so BUILD files can skip LibTorch-only targets:
  load("@torch//:defs.bzl", "TORCH_AVAILABLE")
After installing or removing LibTorch, re-run the rule with `bazel sync --configure`
(or restart the Bazel server).
"""

_DEBIAN_INCLUDE = "/usr/include"
_DEBIAN_LIB = "/usr/lib/x86_64-linux-gnu"

_BUILD_AVAILABLE = """\
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "torch",
    hdrs = glob({hdr_globs}),
    includes = {includes},
    linkopts = [
        "-L{libdir}",
        "-Wl,-rpath,{libdir}",
        "-ltorch_cpu",
        "-lc10",
    ],
)
"""

_BUILD_MISSING = """\
# No LibTorch found ({why}): an empty placeholder target.
package(default_visibility = ["//visibility:public"])

cc_library(name = "torch")
"""

def _torch_repository_impl(rctx):
    root = rctx.os.environ.get("LIBTORCH", "")
    if root:
        include = rctx.path(root).get_child("include")
        libdir = rctx.path(root).get_child("lib")
    else:
        include = rctx.path(_DEBIAN_INCLUDE)
        libdir = rctx.path(_DEBIAN_LIB)
    api = include.get_child("torch").get_child("csrc").get_child("api").get_child("include")

    missing = [
        str(p)
        for p in [
            include.get_child("ATen").get_child("ATen.h"),
            api.get_child("torch").get_child("version.h"),
            libdir.get_child("libtorch_cpu.so"),
            libdir.get_child("libc10.so"),
        ]
        if not p.exists
    ]
    available = len(missing) == 0
    if available:
        rctx.symlink(api, "api")
        hdr_globs = ["api/**/*.h"]
        includes = ["api"]
        if root:
            # A LibTorch distribution: its include/ is not a system directory, so declare it.
            rctx.symlink(include, "include")
            hdr_globs.append("include/**/*.h")
            includes.append("include")

        # Debian's headers live in /usr/include, a system include directory: nothing to declare.
        rctx.file("BUILD.bazel", _BUILD_AVAILABLE.format(
            hdr_globs = repr(hdr_globs),
            includes = repr(includes),
            libdir = str(libdir),
        ))
    else:
        rctx.file("BUILD.bazel", _BUILD_MISSING.format(why = "missing " + ", ".join(missing)))
    rctx.file("defs.bzl", "TORCH_AVAILABLE = {}\nTORCH_LIBDIR = {}\n".format(
        available,
        repr(str(libdir)) if available else "None",
    ))
    rctx.file("WORKSPACE", 'workspace(name = "torch")\n')

torch_repository = repository_rule(
    implementation = _torch_repository_impl,
    environ = ["LIBTORCH"],
    local = True,
    configure = True,
)
