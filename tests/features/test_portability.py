"""The built module runs on any CPU of its architecture, and says what it runs.

AVX instructions appear only inside the dispatched clones; ``simd_kernels()`` lists exactly
the clones the compiler emitted; ``simd_impl()`` (the run banner) calls the tick path scalar
and names the variant this CPU resolves, checked against the CPU's own flags.
"""

from __future__ import annotations

import functools
import platform
import re
import shutil
import subprocess
from pathlib import Path

import bitunix._native as native
from bitunix.features import simd_impl, simd_kernels

FUNCTION = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")
INSTRUCTION = re.compile(r"^\s+[0-9a-f]+:\s+(?P<mnemonic>[a-z][a-z0-9.]*)")
X86_64 = platform.machine() in {"x86_64", "AMD64"}
# What FeatureEngine.on_trade / on_book / write run, kernel by kernel.
TICK_PATH = ("bx_features_on_trade", "bx_features_on_book", "bx_features_write", "bx_vwap_add",
             "bx_tick_add", "bx_tradeflow_add", "bx_vol_add", "bx_depth_imbalance",
             "bx_microprice", "bx_parse_decimal")


def _vex_functions(disassembly: str) -> set[str]:
    """Functions using VEX/EVEX-encoded instructions (AVX and later: v-prefixed mnemonics)."""
    found: set[str] = set()
    name = ""
    for line in disassembly.splitlines():
        if m := FUNCTION.match(line):
            name = m["name"]
        elif (m := INSTRUCTION.match(line)) and m["mnemonic"].startswith("v"):
            found.add(name)
    return found


def _functions(disassembly: str) -> set[str]:
    return {m["name"] for line in disassembly.splitlines() if (m := FUNCTION.match(line))}


@functools.cache
def _disassembly() -> str:
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils) is needed: it comes with the C toolchain"
    return subprocess.run([objdump, "-d", "--no-show-raw-insn", native.__file__],
                          capture_output=True, text=True, check=True, timeout=120).stdout


def _cpu_has_avx2() -> bool:
    flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("flags"))
    return "avx2" in flags.split(":", 1)[1].split()


def test_avx_appears_only_in_the_avx2_clones() -> None:
    if not X86_64:
        # Other architectures build one portable path (NEON is baseline on aarch64).
        assert simd_kernels() == {}
        return
    vex = _vex_functions(_disassembly())
    assert vex, "expected the AVX2 clone of the batch kernel"
    assert all(name.endswith(".avx2") for name in vex), sorted(vex)


def test_simd_kernels_lists_exactly_the_clones_in_the_binary() -> None:
    if not X86_64:
        assert simd_kernels() == {}
        return
    functions = _functions(_disassembly())
    clones = {name.removesuffix(".avx2") for name in functions if name.endswith(".avx2")}
    assert clones == {f"bx_{kernel}" for kernel in simd_kernels()}
    for clone in clones:
        assert {f"{clone}.default", f"{clone}.resolver"} <= functions


def test_the_tick_path_is_one_baseline_build() -> None:
    functions = _functions(_disassembly()) if X86_64 else set()
    for kernel in TICK_PATH:
        assert kernel.removeprefix("bx_") not in simd_kernels()
        if X86_64:
            assert kernel in functions
            assert f"{kernel}.avx2" not in functions
    assert simd_impl().startswith("scalar tick path; ")


def test_simd_impl_names_the_variant_this_cpu_runs() -> None:
    if not X86_64:
        assert simd_impl() in {"scalar tick path; neon baseline",
                               "scalar tick path; scalar baseline"}
        return
    if _cpu_has_avx2():
        assert set(simd_kernels().values()) == {"avx2"}
        assert simd_impl() == "scalar tick path; avx2 clone: " + ", ".join(sorted(simd_kernels()))
    else:
        assert set(simd_kernels().values()) == {"sse2"}
        assert simd_impl() == "scalar tick path; sse2 (no avx2 on this CPU)"


def test_detector_sees_vex_instructions() -> None:
    sample = (
        "0000000000001000 <f.default>:\n    1000:\taddsd  %xmm1,%xmm0\n"
        "0000000000002000 <g>:\n    2000:\tvaddpd %ymm1,%ymm2,%ymm0\n"
    )
    assert _vex_functions(sample) == {"g"}
    assert _functions(sample) == {"f.default", "g"}
