import subprocess
import sys

CORE = [
    "infantpose",
    "infantpose.skeleton",
    "infantpose.geometry",
    "infantpose.heatmaps",
    "infantpose.metrics",
    "infantpose.bundle",
    "infantpose.datasets",
    "infantpose.system",
]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_modules_do_not_import_torch():
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE)
    code += "from infantpose.system import system_info; system_info()\n"
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
