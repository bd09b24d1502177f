"""The demo's report in a real browser: every figure loads (skips without Chromium)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def test_report_figures_load_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    from ionscope.cli import main

    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    page = (tmp_path / "demo" / "index.html").resolve()
    script = ("<script>window.onload=()=>{const imgs=[...document.images];"
              "document.title=imgs.length+':'+imgs.filter(i=>i.complete&&i.naturalWidth>0).length;}</script>")
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", script + "</body>"))
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    title = out.stdout.split("<title>")[1].split("</title>")[0]
    total, loaded = map(int, title.split(":"))
    assert total == 2 and loaded == total
