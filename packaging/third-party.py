#!/usr/bin/env python3
"""Writes resources/THIRD_PARTY.md: every crate SockScope is built from, with its licence.

Run after changing dependencies: python3 packaging/third-party.py
(tests/packaging.rs fails when Cargo.lock names a crate the file does not list).
"""
import json, pathlib, subprocess

root = pathlib.Path(__file__).resolve().parent.parent
meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked"], cwd=root))
rows = sorted({(p["name"], p["version"], p.get("license") or "see its repository")
               for p in meta["packages"] if p["name"] != "sockscope"})
lines = ["# Third-party software in SockScope", "",
         "SockScope (MIT OR Apache-2.0) is built from these crates; each keeps its own licence.",
         "The bundled font is Noto Sans CJK SC (a subset), under the SIL Open Font License 1.1",
         "(resources/fonts/OFL.txt).", "", "| crate | version | licence |", "|---|---|---|"]
lines += [f"| {n} | {v} | {l} |" for n, v, l in rows]
(root / "resources" / "THIRD_PARTY.md").write_text("\n".join(lines) + "\n")
print(len(rows), "crates")
