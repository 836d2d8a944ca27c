"""The experiment runner end to end: real notebooks through papermill, run folders checked file by file, the HTML
report opened in headless Chromium, refusals that leave nothing behind, and sweeps on a real one-node Slurm cluster
started by the test (Debian's slurm-wlm + munge)."""
import getpass, hashlib, json, os, re, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import nbformat, pytest, yaml
from conftest import ROOT, assert_one_line_error

HELLO = ROOT/"experiments"/"hello.ipynb"
RUN_FILES = ["figures", "manifest.json", "metrics.jsonl", "notebook.ipynb", "params.yaml", "report.html"]


def _need(tool):
    "The path of `tool`; missing is a failure in CI and a skip elsewhere."
    p = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None)
    if p is None:
        msg = f"{tool} not installed (apt-get install -y slurm-wlm munge chromium)"
        if os.environ.get("CI"): pytest.fail(msg)
        pytest.skip(msg)
    return p


def _runs(d: Path):
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def _tree_digest(d: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(d.rglob("*")):
        h.update(str(p.relative_to(d)).encode())
        if p.is_file(): h.update(p.read_bytes()); h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


def make_notebook(path, *cells, params="x = 1"):
    nb = nbformat.v4.new_notebook(metadata=dict(kernelspec=dict(name="python3", display_name="Python 3", language="python")))
    if params is not None: nb.cells.append(nbformat.v4.new_code_cell(params, metadata=dict(tags=["parameters"])))
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return Path(path)


def chromium_dom(html: Path) -> str:
    "The DOM of `html` after its scripts ran, from headless Chromium (no network needed)."
    exe = _need("chromium")
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--virtual-time-budget=15000", "--dump-dom", html.resolve().as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    "One successful run of experiments/hello.ipynb through the CLI, with -p and -f."
    from conftest import _run_cli
    d = tmp_path_factory.mktemp("exp")
    pf = d/"params.yaml"; pf.write_text("lr: 0.2\nsteps: 99\n")
    t = time.time()
    r = _run_cli("experiment", "run", HELLO, "-f", pf, "-p", "steps", "4", "-p", "seed", "3", "--runs-dir", d/"runs",
                 "--name", "greet")
    assert r.returncode == 0, r.stderr
    (folder,) = _runs(d/"runs")
    assert f"succeeded: {folder}" in r.stdout
    return folder, time.time() - t


def test_run_folder_has_everything(good_run):
    folder, _ = good_run
    assert re.fullmatch(r"\d{8}-\d{6}-greet-[0-9a-f]{8}", folder.name), folder.name
    assert sorted(p.name for p in folder.iterdir()) == RUN_FILES
    # parameters: defaults + file + -p (which wins over the file)
    params = yaml.safe_load((folder/"params.yaml").read_text())
    assert params == dict(steps=4, lr=0.2, noise=0.1, seed=3, fail_at=-1)
    m = json.loads((folder/"manifest.json").read_text())
    assert m["id"] == folder.name and m["status"] == "succeeded" and m["error"] is None
    assert m["parameters"] == params and m["overrides"] == dict(steps=4, lr=0.2, seed=3)
    assert m["seeds"] == dict(seed=3)
    assert m["start"] <= m["end"] and m["duration_s"] > 0
    assert Path(m["notebook"]) == HELLO.resolve()
    env = m["environment"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert env["git"]["commit"] == head and isinstance(env["git"]["dirty"], bool)
    assert (env["git"]["diff_hash"] is not None) == env["git"]["dirty"]
    assert env["python"] == sys.version.split()[0]
    import torch
    assert env["packages"]["torch"] == torch.__version__.split("+")[0] or env["packages"]["torch"] == torch.__version__
    assert env["packages"]["papermill"] and env["hardware"]["cpu"] and "cuda" in env["hardware"]
    # metrics: one loss per step, then slope and intercept; the final values agree with the manifest
    recs = [json.loads(l) for l in (folder/"metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs if r["name"] == "loss"] == [0, 1, 2, 3]
    losses = [r["value"] for r in recs if r["name"] == "loss"]
    assert losses == sorted(losses, reverse=True), "gradient descent should lower the loss"
    assert set(m["final_metrics"]) == {"loss", "slope", "intercept"}
    # figures and the executed notebook (with papermill's injected parameters)
    import plotly.io as pio
    fig = pio.read_json(folder/"figures"/"fit.json")
    assert len(fig.data) == 2
    nb = nbformat.read(folder/"notebook.ipynb", as_version=4)
    inj = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(inj) == 1 and "steps = 4" in inj[0].source
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_report_renders_offline_in_chromium(good_run):
    folder, _ = good_run
    html = (folder/"report.html").read_text()
    assert not re.search(r"<script[^>]*src=[\"']https?://", html), "the report must not load scripts from the network"
    assert html.count("plotly-graph-div") == 1 and html.count("function(t,e){\"object\"==typeof exports") <= 1
    dom = chromium_dom(folder/"report.html")
    assert dom.count('class="plot-container plotly"') == 1, "the plotly figure did not render"
    assert "main-svg" in dom and "fit after 4 steps" in dom          # drawn by plotly.js, legend included
    assert "succeeded" in dom and "greet" in dom                      # the header cell


def test_failed_run_kept_and_others_untouched(good_run, run_cli):
    folder, _ = good_run
    runs = folder.parent
    before = _tree_digest(folder)
    r = run_cli("experiment", "run", HELLO, "-p", "fail_at", "2", "--runs-dir", runs)
    line = assert_one_line_error(r, "failed", "RuntimeError", "failing on purpose at step 2")
    (bad,) = [p for p in _runs(runs) if p != folder]
    assert str(bad) in line
    assert sorted(p.name for p in bad.iterdir()) == RUN_FILES
    m = json.loads((bad/"manifest.json").read_text())
    assert m["status"] == "failed" and "RuntimeError: failing on purpose at step 2" in m["error"] and m["end"]
    recs = [json.loads(l) for l in (bad/"metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [0, 1]                         # logged before the failure, kept
    nb = nbformat.read(bad/"notebook.ipynb", as_version=4)
    errs = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errs and errs[0]["ename"] == "RuntimeError"
    assert "failed" in (bad/"report.html").read_text()
    assert _tree_digest(folder) == before
    # list and show see both
    r = run_cli("experiment", "list", "--runs-dir", runs, check=True)
    assert folder.name in r.stdout and bad.name in r.stdout and "failed" in r.stdout
    assert "fail_at=2" in r.stdout                                     # with the parameters each run was given
    r = run_cli("experiment", "list", "--runs-dir", runs/"rnus", check=True)
    assert f"no runs in {runs/'rnus'} (no such folder)" in r.stdout  # a mistyped folder is named, not just 'no runs'
    r = run_cli("experiment", "show", bad.name, "--runs-dir", runs, check=True)
    assert "failing on purpose" in r.stdout and "fail_at = 2" in r.stdout
    shutil.rmtree(bad)


def test_killed_kernel_and_timeout(tmp_path):
    from spanish_llm.experiments import run_experiment, ExperimentFailed, load_run
    runs = tmp_path/"runs"
    kill = make_notebook(tmp_path/"kill.ipynb", "from spanish_llm.experiments import log_metric\nlog_metric('a', 1)",
                         "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "print('never')")
    slow = make_notebook(tmp_path/"slow.ipynb", "print('started')", "import time\ntime.sleep(60)")
    out = {}
    for nb, kw in [(kill, {}), (slow, dict(timeout=3))]:
        with pytest.raises(ExperimentFailed) as e: run_experiment(nb, runs_dir=runs, **kw)
        out[nb.stem] = load_run(e.value.run_dir)
    k, s = out["kill"], out["slow"]
    assert k.status == "failed" and "DeadKernel" in k.manifest["error"], k.manifest["error"]
    assert k.final_metrics() == dict(a=1.0)
    assert s.status == "failed" and "timed out" in s.manifest["error"].lower(), s.manifest["error"]
    assert s.manifest["duration_s"] < 40
    nb = nbformat.read(s.path/"notebook.ipynb", as_version=4)
    assert "started" in json.dumps(nb.cells[1].outputs)                 # the partial notebook is kept
    assert len(_runs(runs)) == 2


def test_refusals_leave_nothing(tmp_path, run_cli):
    runs = tmp_path/"runs"; runs.mkdir()
    bare = make_notebook(tmp_path/"bare.ipynb", "print(1)", params=None)
    afile = tmp_path/"not-a-folder"; afile.write_text("x")
    cases = [
        (["run", HELLO, "-p", "step", "3"], ["unknown parameter 'step'", "did you mean 'steps'"]),
        (["run", HELLO, "-p", "steps", "many"], ["parameter.steps", "expected an integer", "'many'"]),
        (["run", HELLO, "-p", "lr", "[1]"], ["parameter.lr", "expected a number"]),
        (["run", bare], ["bare.ipynb", "no cell tagged 'parameters'"]),
        (["run", tmp_path/"missing.ipynb"], ["missing.ipynb", "not found"]),
        (["sweep", HELLO, "-g", "steps=1,x"], ["expected an integer", "'x'"]),
        (["sweep", HELLO, "-g", "stepz=1,2"], ["unknown parameter 'stepz'"]),
    ]
    for args, needles in cases:
        assert_one_line_error(run_cli("experiment", *args, "--runs-dir", runs), *needles)
    for bad_dir in [afile, "/proc/spanish-llm-runs"]:
        assert_one_line_error(run_cli("experiment", "run", HELLO, "--runs-dir", bad_dir), "runs folder", str(bad_dir))
    assert_one_line_error(run_cli("experiment", "run", HELLO, "-f", tmp_path/"nope.yaml", "--runs-dir", runs), "nope.yaml")
    # a Slurm executor where there is no Slurm
    r = run_cli("experiment", "sweep", HELLO, "-g", "steps=1,2", "--executor", "slurm", "--runs-dir", runs,
                env=dict(PATH=str(tmp_path)))
    assert_one_line_error(r, "executor slurm", "Slurm is not installed")
    assert list(runs.iterdir()) == [] and afile.read_text() == "x"


def test_compare_and_local_sweep(tmp_path, run_cli):
    runs = tmp_path/"runs"
    r = run_cli("experiment", "sweep", HELLO, "-g", "steps=2,5", "-p", "lr", "0.3", "--runs-dir", runs, "--name", "sw")
    assert r.returncode == 0, r.stderr
    folders = _runs(runs)
    assert len(folders) == 2 and all("-sw-" in f.name for f in folders)
    ms = [json.loads((f/"manifest.json").read_text()) for f in folders]
    assert sorted(m["parameters"]["steps"] for m in ms) == [2, 5] and {m["parameters"]["lr"] for m in ms} == {0.3}
    assert len({m["sweep"]["id"] for m in ms}) == 1
    html = tmp_path/"cmp.html"
    r = run_cli("experiment", "compare", *[f.name for f in folders], "--runs-dir", runs, "--html", html, check=True)
    assert "metric:loss" in r.stdout and all(f.name in r.stdout for f in folders)
    from spanish_llm.experiments import compare_runs, metric_curves
    df = compare_runs(folders)
    assert sorted(df["steps"]) == [2, 5] and df["metric:loss"].notna().all()
    assert len(metric_curves(folders, ["loss"]).data) == 2
    # runs whose parameter sets differ (another notebook): integers stay integers where a value is missing
    other = tmp_path/"other.ipynb"; make_notebook(other, "from spanish_llm.experiments import log_metric\nlog_metric('loss', 1.5)", params="seed = 0")
    from spanish_llm.experiments import run_experiment
    mixed = compare_runs([*folders, run_experiment(other, {}, runs_dir=runs)])
    assert mixed["steps"].isna().sum() == 1 and {type(v) for v in mixed["steps"].dropna()} == {int}
    assert {type(v) for v in mixed["seed"].dropna()} == {int}
    dom = chromium_dom(html)
    assert dom.count('class="plot-container plotly"') == 1 and "main-svg" in dom
    assert_one_line_error(run_cli("experiment", "show", "no-such-run", "--runs-dir", runs), "no-such-run", "not found")


def test_slurm_job_script(tmp_path, run_cli):
    "The generated sbatch script carries the resources and runs submitit's entry point with this Python."
    r = run_cli("experiment", "sweep", HELLO, "-g", "seed=0,1,2", "--executor", "slurm", "--partition", "gpu",
                "--gpus-per-node", "4", "--time-min", "90", "--cpus-per-task", "8", "--mem-gb", "32", "--dry-run",
                "--runs-dir", tmp_path/"runs", check=True)
    s = r.stdout
    assert s.startswith("#!/bin/bash")
    for line in ["#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=4", "#SBATCH --time=90", "#SBATCH --cpus-per-task=8",
                 "#SBATCH --mem=32768M", "#SBATCH --nodes=1", f"export PYTHONPATH={ROOT}"]:
        assert line in s, line
    assert re.search(rf"srun .*{re.escape(sys.executable)} -u -m submitit.core._submit", s)
    assert "3 runs: seed=0; seed=1; seed=2" in s
    assert not (tmp_path/"runs").exists() or _runs(tmp_path/"runs") == []


# ---------------------------------------------------------------- a real Slurm
def _free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _slurmstepd_pids() -> set[int]:
    out = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p/"comm").read_text().strip() == "slurmstepd": out.add(int(p.name))
            except OSError: pass
    return out


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    "A one-node Slurm cluster (munged, slurmctld, slurmd) with its own config in tmp; yields the environment."
    exes = {t: _need(t) for t in ["munged", "slurmctld", "slurmd", "sbatch", "sinfo"]}
    d = tmp_path_factory.mktemp("slurm")
    (d/"munge").mkdir(mode=0o700); (d/"state").mkdir(); (d/"spool").mkdir()
    (d/"munge"/"key").write_bytes(os.urandom(1024)); os.chmod(d/"munge"/"key", 0o600)
    user, host = getpass.getuser(), socket.gethostname().split(".")[0]
    conf = d/"slurm.conf"
    conf.write_text(f"""ClusterName=spanishllmtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser={user}
SlurmdUser={user}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/sock
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    env = dict(os.environ, SLURM_CONF=str(conf))
    pids = []
    try:
        subprocess.run([exes["munged"], "--force", f"--socket={d}/munge/sock", f"--key-file={d}/munge/key",
                        f"--pid-file={d}/munge/pid", f"--log-file={d}/munge/log", f"--seed-file={d}/munge/seed"],
                       check=True, env=env, timeout=30)
        pids.append(d/"munge"/"pid")
        subprocess.run([exes["slurmctld"], "-i"], check=True, env=env, timeout=30); pids.append(d/"slurmctld.pid")
        subprocess.run([exes["slurmd"]], check=True, env=env, timeout=30); pids.append(d/"slurmd.pid")
        for _ in range(60):
            r = subprocess.run(["sinfo", "-h", "-o", "%P %t"], capture_output=True, text=True, env=env)
            if r.returncode == 0 and "idle" in r.stdout: break
            time.sleep(0.5)
        else:
            logs = "".join(p.read_text()[-1500:] for p in [d/"slurmctld.log", d/"slurmd.log"] if p.exists())
            pytest.fail(f"the test Slurm cluster did not come up: {r.stdout} {r.stderr}\n{logs}")
        before = _slurmstepd_pids()
        yield dict(SLURM_CONF=str(conf))
    finally:
        # let the jobs leave the queue (their steps end cleanly while slurmd is still up), then stop the daemons
        for _ in range(60):
            r = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=env)
            if r.returncode != 0 or not r.stdout.strip(): break
            time.sleep(0.5)
        else:
            subprocess.run(["scancel", "--user", user], env=env, capture_output=True); time.sleep(2)
        for pf in reversed(pids):
            try: os.kill(int(pf.read_text().split()[0]), signal.SIGTERM)
            except (OSError, ValueError): pass
        time.sleep(0.5)
        for pid in _slurmstepd_pids() - before if "before" in locals() else ():   # step daemons of our jobs, if any are left
            try: os.kill(pid, signal.SIGKILL)
            except OSError: pass


def test_sweep_on_real_slurm(slurm, tmp_path, run_cli):
    runs = tmp_path/"runs"
    assert_one_line_error(run_cli("experiment", "sweep", HELLO, "-g", "steps=1", "--executor", "slurm",
                                  "--partition", "gpus", "--runs-dir", runs, env=slurm), "partition 'gpus' not found", "debug")
    r = run_cli("experiment", "sweep", HELLO, "-g", "steps=2,3", "-g", "fail_at=-1", "--executor", "slurm",
                "--partition", "debug", "--cpus-per-task", "1", "--time-min", "10", "--runs-dir", runs, "--name", "onslurm",
                env=slurm, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    folders = _runs(runs)
    assert len(folders) == 2
    for f in folders:
        assert sorted(p.name for p in f.iterdir()) == RUN_FILES            # same run folder as a local run
        m = json.loads((f/"manifest.json").read_text())
        assert m["status"] == "succeeded" and m["slurm_job_id"], m
    assert sorted(json.loads((f/"manifest.json").read_text())["parameters"]["steps"] for f in folders) == [2, 3]
    (sweep_dir,) = (runs/".slurm").iterdir()
    scripts = sorted(sweep_dir.glob("*_submission.sh"))
    assert len(scripts) == 2 and all("#SBATCH --partition=debug" in s.read_text() for s in scripts)
