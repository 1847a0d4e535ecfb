"""The GPU check in one command, on a machine with an NVIDIA GPU and PyTorch but no Rust.

Here (with Rust):     cargo xtask gpu-pack          # builds, strips and packs gpu-pack/
There (repository copy with gpu-pack/ beside it):
                      python3 bench/gpu_check.py    # writes gpu-check-out/ (or $OUT)

1. The parity and train-curve tests (committed tiny fixtures; MiniLM's weights are not carried,
   so its parity test is skipped) on each device of `--devices` (default `tch:cuda:0 wgpu`).
2. `cargo xtask bench`'s measurement on bert-base's shape, randomly initialised, batch 32 x 128,
   training and inference, fp32 and bf16: bench/pytorch.py (eager; bf16 as `torch.autocast`)
   and the bench example on each device (bf16 as the device's float dtype), each in a process of
   its own. The peak device memory of each is the largest `used_memory` nvidia-smi reports for
   its process (CUDA context included, the same for both sides); PyTorch's own
   `max_memory_allocated` and Burn's pool reservation are kept in the JSON too.
3. summary.md: the tests' counts and the table with ratios to PyTorch at the same dtype and mode.

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


def gpu_memory_mb(pid):
    """The GPU memory nvidia-smi reports for `pid`, in MiB, or None."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(pid) and parts[1].isdigit():
            return float(parts[1])
    return None


def run(cmd, log, env, timeout, sample_gpu):
    """Runs `cmd`, its output to `log`; returns (exit status, stdout, peak GPU MiB or None)."""
    peak = [None]
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=f, text=True, env=env, cwd=REPO)
        done = threading.Event()

        def sample():
            while not done.is_set():
                mb = gpu_memory_mb(p.pid)
                if mb is not None:
                    peak[0] = max(peak[0] or 0.0, mb)
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
        f.write(stdout)
    return p.returncode, stdout, peak[0]


def last_json(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--devices", default="tch:cuda:0 wgpu")
    a.add_argument("--torch-device", default="cuda", choices=["cuda", "cpu"])
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--seq", type=int, default=128)
    a.add_argument("--warmup", type=int, default=2)
    a.add_argument("--runs", type=int, default=5)
    a.add_argument("--timeout", type=int, default=240, help="seconds per process")
    a.add_argument("--out", default=os.environ.get("OUT", "gpu-check-out"))
    a = a.parse_args()
    os.makedirs(a.out, exist_ok=True)
    out = os.path.abspath(a.out)
    gpu = a.torch_device == "cuda"
    summary = []

    import torch
    machine = (f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
               f"GPU {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    summary.append(f"# GPU check\n\n{machine}\n")
    with open(os.path.join(PACK, "torch-version")) as f:
        built = f.read().strip()
    if built != torch.__version__.split("+")[0]:
        summary.append(f"warning: the binaries link LibTorch {built}, this machine has {torch.__version__}\n")

    bins = tempfile.mkdtemp(prefix="burnbert-gpu-")
    with tarfile.open(os.path.join(PACK, "burnbert-gpu.tar.xz")) as t:
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
            status = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                                     "--find-links", wheels, "--target", site,
                                     "transformers==5.23.0"]).returncode
            summary.append(f"transformers installed from gpu-pack/wheels: exit status {status}\n")
            env["PYTHONPATH"] = site + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        else:
            summary.append("no transformers here and no gpu-pack/wheels (`cargo xtask gpu-pack "
                           "--wheels 3.X`): the PyTorch side fails\n")

    summary.append("## Tests\n\n| device | test | result |\n|---|---|---|")
    for device in a.devices.split():
        for test in ["parity", "train_curve"]:
            log = os.path.join(out, f"test-{test}-{device.replace(':', '_')}.log")
            status, stdout, _ = run([os.path.join(bins, test), "--test-threads", "1", "--skip", "minilm"],
                                    log, dict(env, BURN_DEVICE=device), a.timeout, False)
            counts = re.findall(r"test result: \w+\. .*", stdout)
            summary.append(f"| {device} | {test} | exit {status}: {counts[-1] if counts else 'no result'} |")
        print("\n".join(summary[-2:]), flush=True)

    results = []
    common = ["--model", "bert-base", "--batch", str(a.batch), "--seq", str(a.seq),
              "--warmup", str(a.warmup), "--runs", str(a.runs)]
    for mode in ["train", "inference"]:
        for dtype in ["fp32", "bf16"]:
            sides = [("pytorch", [sys.executable, "bench/pytorch.py", "--device", a.torch_device,
                                  "--dtype", dtype, "--mode", mode] + common)]
            sides += [(d, [os.path.join(bins, "bench"), "--device", d, "--dtype", dtype, "--mode", mode] + common)
                      for d in a.devices.split()]
            for side, cmd in sides:
                log = os.path.join(out, f"bench-{side.replace(':', '_')}-{mode}-{dtype}.log")
                status, stdout, peak = run(cmd, log, env, a.timeout, gpu)
                r = last_json(stdout) or {}
                r.update(side=side, mode=mode, dtype=dtype, exit=status, peak_gpu_mb=peak)
                if status != 0:
                    with open(log) as f:
                        errors = [l.strip() for l in f if l.lower().startswith(("error", "traceback")) or "Error:" in l]
                    r["error"] = errors[-1][:160] if errors else None
                results.append(r)
                print(json.dumps({k: r.get(k) for k in ["side", "mode", "dtype", "exit", "samples_per_s", "peak_gpu_mb"]}),
                      flush=True)
    with open(os.path.join(out, "bench.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")

    memory = "peak GPU MiB (nvidia-smi)" if gpu else "peak RSS MiB"
    summary.append(f"\n## bert-base, batch {a.batch} x {a.seq}, {a.runs} timed runs after {a.warmup}, median\n")
    summary.append(f"| mode | dtype | side | samples/s | vs PyTorch | {memory} |\n|---|---|---|---|---|---|")
    for r in results:
        base = next(b for b in results if b["side"] == "pytorch" and b["mode"] == r["mode"] and b["dtype"] == r["dtype"])
        speed = r.get("samples_per_s")
        ratio = f"{speed / base['samples_per_s']:.2f}x" if speed and base.get("samples_per_s") else ""
        mem = r["peak_gpu_mb"] if gpu else r.get("peak_rss_mb")
        cell = f"{speed:.3g}" if speed else f"failed: {r.get('error') or 'exit ' + str(r['exit'])}"
        summary.append(f"| {r['mode']} | {r['dtype']} | {r['side']} | {cell} | {ratio} | "
                       f"{f'{mem:.0f}' if mem else ''} |")
    text = "\n".join(summary) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    print(text)
    shutil.rmtree(bins, ignore_errors=True)


if __name__ == "__main__":
    main()
