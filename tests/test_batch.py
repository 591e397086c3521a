"""infantpose batch: a study of recordings, resumable, failures isolated (runtime-only install)."""

import csv
import shutil
import subprocess
import sys

import pytest

from infantpose.runtime.pipeline import DEFAULT_BUNDLE

DEMO = DEFAULT_BUNDLE.parent / "demo.mp4"
pytestmark = pytest.mark.skipif(not (DEFAULT_BUNDLE / "manifest.json").is_file(), reason="no shipped bundle")


def _batch(study, out, *extra):
    return subprocess.run([sys.executable, "-m", "infantpose.cli", "batch", str(study), "--out", str(out),
                           "--max-frames", "12", "--workers", "2", *extra],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_a_study_with_a_corrupt_file_resumes_and_isolates_the_failure(tmp_path):
    study = tmp_path / "study"
    (study / "site_b").mkdir(parents=True)
    for i in range(7):
        shutil.copy(DEMO, study / ("site_b" if i % 2 else "") / f"infant{i}.mp4")
    (study / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    out = tmp_path / "out"
    res = _batch(study, out)
    assert res.returncode == 1, res.stderr
    fails = [x for x in res.stderr.splitlines() if x.startswith("failed:")]
    assert len(fails) == 1 and "broken.mp4" in fails[0] and "Traceback" not in res.stderr
    assert "7 processed, 0 already done, 1 failed" in res.stdout
    results = sorted(p.name for p in out.glob("*.jsonl"))
    assert len(results) == 7 and "site_b__infant1.jsonl" in results
    first = (out / "infant0.jsonl").read_text().splitlines()[0]
    assert '"recording": "infant0.mp4"' in first
    with open(out / "study.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7 and all(int(r["frames"]) == 12 for r in rows) and "l_arm_mean_speed_mm_s" in rows[0]
    # Re-run: nothing to do. Then a recording left partial (killed mid-way) is redone, the rest skipped.
    res = _batch(study, out)
    assert "0 processed, 7 already done, 1 failed" in res.stdout, res.stdout
    (out / "infant0.jsonl").rename(out / "infant0.jsonl.partial")
    res = _batch(study, out)
    assert "1 processed, 6 already done, 1 failed" in res.stdout, res.stdout
    assert (out / "infant0.jsonl").is_file() and not (out / "infant0.jsonl.partial").exists()
    with open(out / "study.csv") as f:
        assert len(list(csv.DictReader(f))) == 7


def test_a_study_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (the cluster extra)")
    study = tmp_path / "study"
    study.mkdir()
    for i in range(7):
        shutil.copy(DEMO, study / f"infant{i}.mp4")
    (study / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    out = tmp_path / "out"
    res = _batch(study, out, "--ray", "local")
    assert res.returncode == 1, res.stderr[-2000:]
    assert "7 processed, 0 already done, 1 failed" in res.stdout
    fails = [x for x in res.stderr.splitlines() if x.startswith("failed:")]
    assert len(fails) == 1 and "broken.mp4" in fails[0]
    with open(out / "study.csv") as f:
        assert sorted(r["recording"] for r in csv.DictReader(f)) == [f"infant{i}" for i in range(7)]
    res = _batch(study, out, "--ray", "local")  # re-run: no work but the broken one
    assert "0 processed, 7 already done, 1 failed" in res.stdout


def test_a_study_killed_mid_way_finishes_the_rest_when_run_again(tmp_path):
    import os
    import signal
    import time

    study = tmp_path / "study"
    study.mkdir()
    for i in range(4):
        shutil.copy(DEMO, study / f"infant{i}.mp4")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "infantpose.cli", "batch", str(study), "--out", str(out), "--max-frames", "60",
           "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("*.jsonl")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, workers included, as a power cut would
    proc.wait(timeout=30)
    done_before = len(list(out.glob("*.jsonl")))
    assert 1 <= done_before < 4
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)  # the same settings: a resume
    assert res.returncode == 0, res.stderr
    assert f"{4 - done_before} processed, {done_before} already done, 0 failed" in res.stdout
    assert len(list(out.glob("*.jsonl"))) == 4 and not list(out.glob("*.partial"))
