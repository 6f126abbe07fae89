"""The ``rrmbook`` command: the README's commands print what they promise, bad input gives a
one-line error and exit status 2, and a trained checkpoint evaluates through the same path."""

from __future__ import annotations

import json

import pytest

from rrmbook.cli import main


def test_evaluate_prints_the_delay_summary(capsys):
    assert main(["evaluate", "--scenario", "paper-cg8", "--load", "heavy", "--policy", "gms",
                 "--slots", "500"]) == 0
    out = capsys.readouterr().out
    assert "gms on paper-cg8 (load heavy), 500 slots" in out
    assert "mean delay" in out and "slots" in out and "still queued" in out


def test_evaluate_json_matches_the_library():
    import rrmbook

    env = rrmbook.make_env("paper-cg8", load="light", seed=3)
    expected = rrmbook.evaluate(env, rrmbook.baselines.get("llq"), slots=300, seed=3).summary()
    from contextlib import redirect_stdout
    from io import StringIO

    buf = StringIO()
    with redirect_stdout(buf):
        main(["evaluate", "--load", "light", "--policy", "llq", "--slots", "300", "--seed", "3",
              "--json"])
    assert json.loads(buf.getvalue()) == expected


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--load", "-1"], "load"),
    (["evaluate", "--policy", "nope"], "unknown policy"),
    (["evaluate", "--scenario", "mars"], "unknown scenario"),
    (["reproduce", "fig99"], "unknown figure"),
    (["train", "mappo", "--budget", "lots"], "budget"),
    (["train", "mappo", "--threads", "0"], "--threads"),
    (["reproduce", "fig8", "--threads", "0"], "--threads"),
])
def test_bad_input_is_one_clear_line_and_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rrmbook: error:") and message in err


def test_policies_lists_both_families(capsys):
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    for name in ["gms", "qcsma", "max_weight", "fp", "wmmse", "fair_itlinq"]:
        assert name in out
    assert "conflict" in out and "cellular" in out


def test_train_then_evaluate_the_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "mappo", "--load", "heavy", "--budget", "4096", "--out", str(run),
                 "--quiet"]) == 0
    assert (run / "last.pt").is_file() and (run / "learning_curve.csv").is_file()
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(run / "last.pt"), "--slots", "200"]) == 0
    assert "on paper-cg8 (load heavy), 200 slots" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", str(run / "last.pt"), "--scenario", "paper-hex19",
                 "--slots", "10"]) == 2
    assert "paper-hex19" in capsys.readouterr().err
    # a fresh run into the same folder is refused before any work, and changes nothing
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main(["train", "mappo", "--load", "heavy", "--budget", "2048", "--out", str(run),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already exists from an earlier run" in err and "--resume" in err and "--overwrite" in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_version(capsys):
    import rrmbook

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"rrmbook {rrmbook.__version__}"


def test_evaluate_a_shipped_policy_by_name_and_a_policy_file(tmp_path, capsys):
    """Issue 18: --checkpoint takes a shipped policy's name, or its policy file."""
    assert main(["evaluate", "--checkpoint", "cg8-heavy-shared", "--slots", "100"]) == 0
    out = capsys.readouterr().out
    assert "MAPPO (cg8-heavy-shared) on paper-cg8 (load heavy), 100 slots" in out
    from rrmbook.experiments import zoo

    assert main(["evaluate", "--checkpoint", str(zoo.policy_path("cg8-heavy-shared")),
                 "--slots", "100", "--json"]) == 0
    assert '"scenario": "paper-cg8"' in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", "no-such-policy"]) == 2
    assert "unknown shipped policy 'no-such-policy'" in capsys.readouterr().err


def test_load_for_the_full_buffer_model_is_refused_not_ignored(capsys):
    assert main(["evaluate", "--scenario", "pf-4x20", "--load", "heavy", "--slots", "200"]) == 2
    assert "full buffers: --load does not apply" in capsys.readouterr().err
    assert main(["compare", "--scenario", "pf-4x20", "--slots", "200", "--policies", "tdm"]) == 0


def test_out_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys):
    """Issue 18: --out naming a file or a read-only folder is refused at once, naming --out."""
    import os

    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["train", "mappo", "--budget", "4096", "--out", str(afile), "--quiet"]) == 2
    assert f"--out {afile} is a file" in capsys.readouterr().err
    assert main(["reproduce", "fig7", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
    if os.geteuid() != 0:            # root writes anywhere: the read-only case needs a user
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        assert main(["train", "mappo", "--budget", "4096", "--out", str(ro / "run"), "--quiet"]) == 2
        assert "cannot be written" in capsys.readouterr().err


def test_writable_dir_checks_free_space(tmp_path, monkeypatch):
    import shutil

    from rrmbook import io

    assert io.writable_dir(tmp_path / "new" / "run", "--out") == tmp_path / "new" / "run"
    assert not list((tmp_path / "new" / "run").iterdir())      # the probe is gone
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(io.shutil, "disk_usage", lambda p: usage._replace(free=2**20))
    with pytest.raises(ValueError, match=r"--out .*only 1\.0 MiB free"):
        io.writable_dir(tmp_path, "--out")
