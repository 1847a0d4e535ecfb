"""The GPU check in one command, on a machine with an NVIDIA GPU and PyTorch but no Rust.

Here (with Rust):     cargo xtask gpu-pack          # builds, strips and packs gpu-pack/
There (repository copy with gpu-pack/ in it):
                      python3 bench/gpu_check.py    # writes ./gpu-check-out/ (or --out, $OUT)

1. The parity and train-curve tests (committed tiny fixtures; MiniLM's weights are not carried,
   so its parity test is skipped) on each device of `--devices` (default `tch:cuda:0 wgpu`).
2. `cargo xtask bench`'s measurement on bert-base's shape, randomly initialised, batch 32 x 128,
   training and inference, fp32 and bf16: bench/pytorch.py (eager; bf16 as `torch.autocast`)
   and the bench example on each device (bf16 as the device's float dtype), each in a process of
   its own. The peak GPU memory of each is the most nvidia-smi reports for its process (CUDA
   context included, the same for both sides); where nvidia-smi lists no processes (in a
   container, its process ids differ), the most the whole GPU used above what it used before the
   process started (one process runs at a time). PyTorch's `max_memory_allocated` and Burn's pool
   reservation are kept in the JSON too.
3. summary.md: the tests' counts and the table with ratios to PyTorch at the same dtype and mode,
   rewritten after each process, and bench.jsonl, appended to, so that a run cut short keeps
   what it measured. Nothing new starts after `--deadline` seconds.

`--devices "tch:cpu wgpu:cpu" --torch-device cpu --batch 2 --seq 16` tries the whole script on
a CPU (peak memory is then the process's RSS).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK = os.path.join(REPO, "gpu-pack")


def nvidia_smi(*query):
    """nvidia-smi's CSV rows for `query`, or [] without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", *query, "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [[p.strip() for p in line.split(",")] for line in out.splitlines()]


def process_mb(pid):
    """The GPU memory nvidia-smi lists for process `pid`, in MiB, or None."""
    for row in nvidia_smi("--query-compute-apps=pid,used_memory"):
        if len(row) == 2 and row[0] == str(pid) and row[1].isdigit():
            return float(row[1])
    return None


def gpu_used_mb():
    """The memory in use on the first GPU, in MiB, or None."""
    rows = nvidia_smi("--query-gpu=memory.used")
    return float(rows[0][0]) if rows and rows[0] and rows[0][0].isdigit() else None


def run(cmd, log, env, timeout, sample_gpu):
    """Runs `cmd`, its stderr and stdout to `log`; returns (exit status, stdout, peak GPU MiB
    or None, how that peak was read)."""
    own, whole = [None], [None]
    baseline = gpu_used_mb() if sample_gpu else None
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=f, text=True, env=env, cwd=REPO)
        done = threading.Event()

        def sample():
            while not done.is_set():
                mb = process_mb(p.pid)
                if mb is not None:
                    own[0] = max(own[0] or 0.0, mb)
                mb = gpu_used_mb()
                if mb is not None:
                    whole[0] = max(whole[0] or 0.0, mb)
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        if sample_gpu:
            sampler.start()
        try:
            stdout, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            stdout, _ = p.communicate()
            f.write(f"\ntimed out after {timeout} s\n")
        done.set()
        if sample_gpu:
            sampler.join()
        f.write(stdout)
    if own[0] is not None:
        return p.returncode, stdout, own[0], "process"
    if whole[0] is not None and baseline is not None:
        return p.returncode, stdout, whole[0] - baseline, "GPU above idle"
    return p.returncode, stdout, None, None


def last_json(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def last_error(log):
    """The last line of `log` that reads as an error: an `error:`, a Python exception, a Rust
    panic, a shared library the loader could not find."""
    with open(log, errors="replace") as f:
        errors = [l.strip() for l in f
                  if l.lower().startswith(("error", "traceback")) or "Error:" in l
                  or "error while loading" in l or "panicked" in l]
    return errors[-1][:160] if errors else None


def table(results, gpu, a):
    memory = "peak GPU MiB" if gpu else "peak RSS MiB"
    lines = [f"\n## bert-base, batch {a.batch} x {a.seq}, {a.runs} timed runs after {a.warmup}, median\n",
             f"| mode | dtype | side | samples/s | vs PyTorch | {memory} |", "|---|---|---|---|---|---|"]
    for r in results:
        base = next((b for b in results if b["side"] == "pytorch" and b["mode"] == r["mode"]
                     and b["dtype"] == r["dtype"]), {})
        speed = r.get("samples_per_s")
        ratio = f"{speed / base['samples_per_s']:.2f}x" if speed and base.get("samples_per_s") else ""
        mem = r.get("peak_gpu_mb") if gpu else r.get("peak_rss_mb")
        cell = f"{speed:.3g}" if speed else f"failed: {r.get('error') or 'exit ' + str(r['exit'])}"
        lines.append(f"| {r['mode']} | {r['dtype']} | {r['side']} | {cell} | {ratio} | "
                     f"{f'{mem:.0f}' if mem is not None else ''} |")
    return lines


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--devices", default="tch:cuda:0 wgpu")
    a.add_argument("--torch-device", default="cuda", choices=["cuda", "cpu"])
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--seq", type=int, default=128)
    a.add_argument("--warmup", type=int, default=2)
    a.add_argument("--runs", type=int, default=5)
    a.add_argument("--timeout", type=int, default=180, help="seconds per process")
    a.add_argument("--deadline", type=int, default=540, help="seconds after which nothing new starts")
    a.add_argument("--out", default=os.environ.get("OUT", "gpu-check-out"))
    a = a.parse_args()
    started = time.monotonic()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    gpu = a.torch_device == "cuda"

    import torch
    head = [f"# GPU check\n\ntorch {torch.__version__}, CUDA {torch.version.cuda}, GPU "
            f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}\n"]
    with open(os.path.join(PACK, "torch-version")) as f:
        built = f.read().strip()
    if built != torch.__version__.split("+")[0]:
        head.append(f"warning: the binaries link LibTorch {built}, this machine has {torch.__version__}\n")
    tests = ["## Tests\n", "| device | test | result |", "|---|---|---|"]
    results = []
    jsonl = os.path.join(out, "bench.jsonl")
    open(jsonl, "w").close()

    def write_summary():
        text = "\n".join(head + tests + (table(results, gpu, a) if results else [])) + "\n"
        with open(os.path.join(out, "summary.md"), "w") as f:
            f.write(text)
        return text

    bins = tempfile.mkdtemp(prefix="burnbert-gpu-")
    try:
        with tarfile.open(os.path.join(PACK, "burnbert-gpu.tar.xz")) as t:
            try:
                t.extractall(bins, filter="data")
            except TypeError:  # Python without extraction filters
                t.extractall(bins)
        env = dict(os.environ)
        torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
        env["LD_LIBRARY_PATH"] = torch_lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        # The test binaries find assets/ through it (tests/common/mod.rs).
        env["CARGO_MANIFEST_DIR"] = REPO

        try:
            import transformers  # noqa: F401
        except ImportError:
            wheels = os.path.join(PACK, "wheels")
            if os.path.isdir(wheels):
                site = os.path.join(bins, "site")
                # --no-deps: with --target pip ignores what is installed, numpy included, and
                # the pack carries every other dependency.
                status = subprocess.run(
                    [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                     "--target", site] + sorted(os.path.join(wheels, w) for w in os.listdir(wheels))
                ).returncode
                head.append(f"transformers installed from gpu-pack/wheels: exit status {status}\n")
                env["PYTHONPATH"] = site + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            else:
                head.append("no transformers here and no gpu-pack/wheels (`cargo xtask gpu-pack "
                            "--wheels 3.X`): the PyTorch side fails\n")

        def late():
            if time.monotonic() - started <= a.deadline:
                return False
            if not any("deadline" in h for h in head):
                head.append(f"past the {a.deadline} s deadline: the rest was not run\n")
                print(head[-1], flush=True)
            return True

        for device in a.devices.split():
            for test in ["parity", "train_curve"]:
                if late():
                    break
                log = os.path.join(out, f"test-{test}-{device.replace(':', '_')}.log")
                status, stdout, _, _ = run([os.path.join(bins, test), "--test-threads", "1", "--skip", "minilm"],
                                           log, dict(env, BURN_DEVICE=device), a.timeout, False)
                counts = re.findall(r"test result: \w+\. .*", stdout)
                result = counts[-1] if counts else last_error(log) or "no result"
                tests.append(f"| {device} | {test} | exit {status}: {result} |")
                print(tests[-1], flush=True)
                write_summary()

        common = ["--model", "bert-base", "--batch", str(a.batch), "--seq", str(a.seq),
                  "--warmup", str(a.warmup), "--runs", str(a.runs)]
        for mode in ["train", "inference"]:
            for dtype in ["fp32", "bf16"]:
                sides = [("pytorch", [sys.executable, "bench/pytorch.py", "--device", a.torch_device,
                                      "--dtype", dtype, "--mode", mode] + common)]
                sides += [(d, [os.path.join(bins, "bench"), "--device", d, "--dtype", dtype,
                               "--mode", mode] + common) for d in a.devices.split()]
                for side, cmd in sides:
                    if late():
                        break
                    log = os.path.join(out, f"bench-{side.replace(':', '_')}-{mode}-{dtype}.log")
                    status, stdout, peak, how = run(cmd, log, env, a.timeout, gpu)
                    r = last_json(stdout) or {}
                    r.update(side=side, mode=mode, dtype=dtype, exit=status, peak_gpu_mb=peak,
                             peak_gpu_read_as=how)
                    if status != 0:
                        r["error"] = last_error(log)
                    results.append(r)
                    with open(jsonl, "a") as f:
                        f.write(json.dumps(r) + "\n")
                    print(json.dumps({k: r.get(k) for k in
                                      ["side", "mode", "dtype", "exit", "samples_per_s", "peak_gpu_mb"]}),
                          flush=True)
                    write_summary()
        print(write_summary())
    finally:
        shutil.rmtree(bins, ignore_errors=True)


if __name__ == "__main__":
    main()
