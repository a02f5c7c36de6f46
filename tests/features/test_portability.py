"""The built module runs on any CPU of its architecture: AVX only inside dispatched clones."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess

import bitunix._native as native
from bitunix.features import simd_impl

FUNCTION = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")
INSTRUCTION = re.compile(r"^\s+[0-9a-f]+:\s+(?P<mnemonic>[a-z][a-z0-9.]*)")


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


def test_avx_appears_only_in_the_avx2_clones() -> None:
    if platform.machine() not in {"x86_64", "AMD64"}:
        # Other architectures build one portable path (NEON is baseline on aarch64).
        assert simd_impl() in {"neon", "scalar"}
        return
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils) is needed: it comes with the C toolchain"
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", native.__file__],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    vex = _vex_functions(out)
    assert vex, "expected the AVX2 clone of the batch kernel"
    assert all(name.endswith(".avx2") for name in vex), sorted(vex)
    assert simd_impl() in {"avx2", "sse2"}


def test_detector_sees_vex_instructions() -> None:
    sample = (
        "0000000000001000 <f.default>:\n    1000:\taddsd  %xmm1,%xmm0\n"
        "0000000000002000 <g>:\n    2000:\tvaddpd %ymm1,%ymm2,%ymm0\n"
    )
    assert _vex_functions(sample) == {"g"}
