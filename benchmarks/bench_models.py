"""Speed and size of every registered model at 256x256.

For each model: parameters, GFLOPs for one 256² image (torch.utils.flop_counter,
multiply-add = 2), CPU images/s for PyTorch (fp32, eval, no_grad) and
onnxruntime (colorizers only; exported with medcolor.export), and, when CUDA is
available, GPU images/s in bf16 autocast.  Images/s = batch * repeats / seconds
after ``--warmup`` untimed calls.

    OMP_NUM_THREADS=2 python benchmarks/bench_models.py --batch 1 --repeats 5
    python benchmarks/bench_models.py --models fastcolor unet --json out.json
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from medcolor.export import export_onnx
from medcolor.models import create_model, list_models, model_entry
from medcolor.models.summary import count_flops, count_params, example_inputs


def _rate(fn, batch: int, repeats: int, warmup: int, sync=lambda: None) -> float:
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return batch * repeats / (time.perf_counter() - t0)


def bench_one(name: str, args: argparse.Namespace, tmp: Path) -> dict:
    torch.manual_seed(0)
    model = create_model(name).eval()
    row = {"model": name, "kind": model_entry(name).kind, "params_m": round(count_params(model) / 1e6, 2),
           "gflops": round(count_flops(model, args.size) / 1e9, 2)}
    inputs = example_inputs(model, args.size, batch=args.batch)
    with torch.inference_mode():
        row["cpu_torch_img_s"] = round(_rate(lambda: model(*inputs), args.batch, args.repeats, args.warmup), 2)
    if model_entry(name).exportable and not args.no_onnx:
        import onnxruntime as ort

        path = export_onnx(name, tmp / f"{name}.onnx", overwrite=True, check=False).path
        opts = ort.SessionOptions()
        if args.threads:
            opts.intra_op_num_threads = args.threads
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed = {"L": inputs[0].numpy()}
        row["cpu_onnx_img_s"] = round(_rate(lambda: sess.run(None, feed), args.batch, args.repeats,
                                            args.warmup), 2)
        path.unlink()
    if torch.cuda.is_available() and not args.no_gpu:
        gmodel = model.cuda()
        ginputs = example_inputs(model, args.size, batch=args.gpu_batch)
        ginputs = tuple(t.cuda() for t in ginputs)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            row["gpu_bf16_img_s"] = round(_rate(lambda: gmodel(*ginputs), args.gpu_batch, args.gpu_repeats,
                                                args.warmup, torch.cuda.synchronize), 1)
        model.cpu()
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", help="subset of models (default: all registered)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=1, help="CPU batch size (default 1)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch/onnxruntime threads (0 = library default)")
    p.add_argument("--gpu-batch", type=int, default=32)
    p.add_argument("--gpu-repeats", type=int, default=20)
    p.add_argument("--no-onnx", action="store_true")
    p.add_argument("--no-gpu", action="store_true")
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.models or list_models()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() and not args.no_gpu else "none"
    print(f"# {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"GPU {gpu}; {args.size}x{args.size}, CPU batch {args.batch}, repeats {args.repeats}")
    cols = ["model", "kind", "params_m", "gflops", "cpu_torch_img_s", "cpu_onnx_img_s", "gpu_bf16_img_s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = bench_one(name, args, Path(tmp))
            rows.append(row)
            print("| " + " | ".join(str(row.get(c, "-")) for c in cols) + " |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"gpu": gpu, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
