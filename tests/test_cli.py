import subprocess
import sys

CORE = [
    "infantpose",
    "infantpose.skeleton",
    "infantpose.geometry",
    "infantpose.heatmaps",
    "infantpose.metrics",
    "infantpose.runtime.bundle",
    "infantpose.datasets",
    "infantpose.apps.system",
]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_modules_do_not_import_torch():
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE)
    code += "from infantpose.apps.system import system_info; system_info()\n"
    code += "bad = [m for m in ('torch', 'torchvision') if m in sys.modules]\nassert not bad, bad\n"
    out = _run(code)
    assert out.returncode == 0, out.stderr


def test_info_command_runs():
    out = _run("from infantpose.cli import main; import sys; sys.argv=['infantpose','info']; main()")
    assert out.returncode == 0, out.stderr
    assert "onnxruntime providers" in out.stdout and "tensorrt" in out.stdout


def test_help_on_every_command():
    from typer.testing import CliRunner

    from infantpose.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in app.registered_commands:
        name = cmd.name or cmd.callback.__name__.replace("_", "-")
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0, name
        assert "Usage" in r.output


def test_a_missing_extra_is_one_line_naming_the_install(tmp_path):
    import os
    import subprocess
    import sys

    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    cmd = [sys.executable, "-m", "infantpose.cli", "train", "lifter", "--data", str(tmp_path), "--out", str(tmp_path)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        res.stderr.strip() == "error: this command needs the 'train' extra (no module 'torch'): "
        "pip install 'infantpose[train]'"
    )
