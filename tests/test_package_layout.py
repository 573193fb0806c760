"""The library's core stays apart from the workflow: importing it loads none of the workflow's
dependencies (pandas, matplotlib, snakemake, yaml, jsonschema) and no ``mffssim.workflow`` module."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_ONLY = ("pandas", "matplotlib", "snakemake", "yaml", "jsonschema", "mffssim.workflow")
CORE = ("mffssim", "mffssim.io", "mffssim.ssim", "mffssim.fusion", "mffssim.focus", "mffssim.defocus",
        "mffssim.metrics", "mffssim.datasets", "mffssim.cli", "mffssim.detector", "mffssim.detector.inference",
        "mffssim.detector.train", "mffssim.registry")


def _loaded_after_import(modules: tuple[str, ...]) -> list[str]:
    code = ("import importlib, json, sys\n"
            f"for name in {list(modules)!r}: importlib.import_module(name)\n"
            "import mffssim; mffssim.fuse, mffssim.mffssim_index, mffssim.read_image\n"
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_core_imports_no_workflow_dependency():
    loaded = _loaded_after_import(CORE)
    leaked = [m for m in loaded if any(m == w or m.startswith(w + ".") for w in WORKFLOW_ONLY)]
    assert leaked == [], f"the core loads workflow-only modules: {leaked[:10]}"


def test_no_core_module_names_the_workflow_package():
    for path in (REPO / "mffssim").rglob("*.py"):
        if "workflow" in path.relative_to(REPO / "mffssim").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith(("mffssim.workflow", "workflow")) for n in names), f"{path}: imports {names}"


def test_one_wording_for_the_shared_argument_checks():
    from mffssim._checks import check_sources, check_window

    assert check_window(5, 8, 9) == 5
    for bad in (4, 0, 3.0, True, "3"):
        with pytest.raises(ValueError, match=r"^window: must be an odd positive integer"):
            check_window(bad)
    with pytest.raises(ValueError, match=r"^window: 11 is larger than the 12x10 image$"):
        check_window(11, 10, 12)
    with pytest.raises(ValueError, match=r"^sources: multi-focus fusion needs K >= 2 sources, got 1$"):
        check_sources(json.loads("[[[0.5]]]"))
