# SPDX-License-Identifier: LGPL-2.1-or-later
"""The commands ninja runs for a BPF target of a meson build directory, to
build variants of a real object the same way (bench/translator-cost --floor).
"""
import shlex
import subprocess
from pathlib import Path


def ninja_command(build, target):
    """The last command ninja runs for `target` in `build`, as an argv list
    (relative paths in it are relative to `build`)."""
    out = subprocess.run(["ninja", "-C", str(build), "-t", "commands", target],
                         check=True, capture_output=True, text=True).stdout
    return shlex.split(out.strip().splitlines()[-1])


def bpf_compile_command(build, target):
    """The clang -target bpf invocation that builds `target`
    (e.g. "bpf/nat64.bpf.unstripped.o")."""
    argv = ninja_command(build, target)
    assert "-target" in argv and argv[argv.index("-target") + 1] == "bpf", argv
    return argv


def build_variant(build, target, output, extra_args=()):
    """`target` (a bpf/*.unstripped.o) compiled again into `output` with
    `extra_args` added, then through the `bpftool gen object` step ninja runs
    after it; returns `output` (the linked object, as bpf/*.bpf.o)."""
    cc = bpf_compile_command(build, target)
    cc[cc.index("-o") + 1] = str(output.with_suffix(".unstripped.o"))
    cc[cc.index("-c"):cc.index("-c")] = list(extra_args)
    r = subprocess.run(cc, cwd=build, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(cc)}:\n{r.stderr}")
    gen = ninja_command(build, target.replace(".unstripped.o", ".o"))
    assert gen[1:3] == ["gen", "object"] and gen[4] == target, gen
    subprocess.run([gen[0], "gen", "object", str(output), str(output.with_suffix(".unstripped.o"))],
                   cwd=build, check=True, capture_output=True)
    return Path(output)
