"""`python -m bench --quick`: the benchmark harness runs end to end (it asserts no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_completes_every_application(tmp_path: Path) -> None:
    report_path = tmp_path / "bench.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(report_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(report_path.read_text())
    results = report["results"]
    assert set(results) == {"limit", "hub-sqlite"}
    for name, result in results.items():
        assert result["submitted"] == report["settings"]["applications"] > 0, name
        assert result["completed"] == result["submitted"], name
        assert result["seconds"] > 0 and result["apps_per_s"] > 0, name
        assert result["e2e_ms"]["p50"] > 0 and result["e2e_ms"]["p99"] >= result["e2e_ms"]["p50"]
    hub = results["hub-sqlite"]
    assert 0 < hub["submit_ms"]["p50"] <= hub["submit_ms"]["p95"] <= hub["submit_ms"]["p99"]
    assert hub["hub_cpu_s_per_app"] > 0 and hub["hub_peak_rss_mb"] > 0
    # Every delivery was sent and asked about once: nothing failed, nothing was retried.
    assert hub["attempts"] == {
        "accepted": hub["attempts"]["accepted"],
        "answered": hub["attempts"]["accepted"],
    }
    assert report["ratios"]["limit"] == 1.0 and report["ratios"]["hub-sqlite"] > 0
    assert {t["target"] for t in report["targets"]} and all(
        t["met"] in (True, False, None) for t in report["targets"]
    )
    assert "targets" in finished.stdout
