"""Runner overhead: `run_experiment` vs bare `papermill.execute_notebook` on the same notebook, same process.

    nice python benchmarks/experiments_overhead.py [--repeat 3] [--notebook experiments/hello.ipynb]

Prints the median wall time of each and the runner's overhead (seconds and ratio), with the share spent on the
manifest (environment_info) and on the HTML report. Both run the same notebook with the same parameters,
alternately, so machine noise hits both alike."""
import argparse, os, statistics, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--notebook", default=str(ROOT/"experiments"/"hello.ipynb"))
    a = ap.parse_args()
    import papermill as pm
    from spanish_llm.core import environment_info
    from spanish_llm.experiments import run_experiment, write_report, Run
    params = dict(steps=20)
    tmp = Path(tempfile.mkdtemp(prefix="exp-overhead-"))
    environment_info()  # warm imports (torch) for both sides
    bare, runner, env_t, rep_t = [], [], [], []
    for i in range(a.repeat):
        t = time.perf_counter()
        pm.execute_notebook(a.notebook, str(tmp/f"bare-{i}.ipynb"), parameters=params, kernel_name="python3",
                            language="python", progress_bar=False)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        folder = run_experiment(a.notebook, params, runs_dir=tmp/"runs", name=f"bench{i}")
        runner.append(time.perf_counter() - t)
        t = time.perf_counter(); environment_info(); env_t.append(time.perf_counter() - t)
        t = time.perf_counter(); write_report(Run(folder)); rep_t.append(time.perf_counter() - t)
    b, r = statistics.median(bare), statistics.median(runner)
    print(f"notebook {Path(a.notebook).name}, {a.repeat} runs each")
    print(f"bare papermill      {b:7.2f} s (median)")
    print(f"run_experiment      {r:7.2f} s (median)")
    print(f"overhead            {r - b:7.2f} s  ratio {r / b:.2f}x")
    print(f"  manifest (environment_info) {statistics.median(env_t):.2f} s, HTML report {statistics.median(rep_t):.2f} s")
    import shutil; shutil.rmtree(tmp)

if __name__ == "__main__": main()
