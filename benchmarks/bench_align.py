"""Evidence for the registration of focus stacks (mffssim.align; docs/photos.md).

Two parts, each printing its figures (and writing JSON with ``--json``):

``synthetic``: scikit-image pictures rendered as K-frame focus stacks (each frame sharp on its own band,
defocused elsewhere with mffssim.defocus.defocus_layers; ``--defocus disk`` for a pillbox blur), every frame
but the middle one moved by a known similarity (scale 0.96-1.04, rotation up to 1 degree, shift up to 20 px;
seeded). Frames are rendered at twice the size, blurred by the camera's lens and sensor (a Gaussian of
``--psf`` pixels, default 0.5) and reduced 2x2, so a moved frame is a new view of the scene, as a camera
takes it, not a resampled copy of the registered frame. Reported: the transform error (RMS over the frame
corners, pixels), and the fused PSNR against the sharp picture on the area every frame covers, for the
aligned stack, for the moved stack warped with the true transforms (what resampling alone costs) and for
the perfectly registered stack; all three are fused on that same area with the same settings.

    python benchmarks/bench_align.py synthetic [--size 384] [--frames 3] [--seeds 0 1] [--psf 0.5]
        [--defocus gaussian|disk] [--no-blur-matching] [--json out.json]

``real``: one real stack (a folder of frames, in name order), optionally with another program's result
(``--comparison``). Times align + fuse (wall and CPU seconds, peak resident memory of this process); fuses
with and without alignment; registers the comparison to the anchor; and computes on the common area, against
the same aligned frames: the no-reference metrics QG, QCB, QMI (mean over frame pairs; at ``--metric-scale``
of the resolution, default 1/2) and two residuals:

* ``frames``: 1 - the mean correlation of neighbouring frames' band-passed images (how well the frames
  themselves are registered: unaligned vs aligned);
* ``ghost``: the mean over pixels of min_k |DoG(F) - DoG(A_k)|, relative to the mean |DoG| of the frames: an
  edge of the fused image F that no aligned frame A_k has at that place (a ghost, a seam) raises it, where
  a no-reference metric may reward the extra edge.

    python benchmarks/bench_align.py real DIR [--comparison FILE] [--out OUTDIR] [--no-blur-matching] [--json out.json]
    python benchmarks/bench_align.py figure OUTDIR... --out docs/photos_pcb.jpg   # side-by-side figure
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mffssim.align import (  # noqa: E402
    Alignment, _bandpass, _gray, _half, align_stack, corner_error, describe, register_image, similarity_matrix, warp_frame,
    warp_frames,
)
from mffssim.defocus import defocus_layers, gaussian_blur  # noqa: E402
from mffssim.io import IMAGE_EXTENSIONS, read_image, read_image_set, write_image  # noqa: E402

PICTURES = ("astronaut", "coffee", "chelsea", "rocket")


def _psnr(a, b):
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def _fuse(frames, iterations):
    import torch

    from mffssim.fusion import fuse

    torch.set_num_threads(1)
    return fuse(frames, None, device="cpu", iterations=iterations, progress=False).image


def _disk_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A pillbox (uniform disk) blur of radius 2 sigma per channel: a lens's defocus, not a Gaussian."""
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float32)
    if sigma <= 0:
        return image.copy()
    radius = 2.0 * sigma
    n = int(np.ceil(radius))
    y, x = np.mgrid[-n:n + 1, -n:n + 1]
    kernel = (x ** 2 + y ** 2 <= radius ** 2).astype(np.float32)
    kernel /= kernel.sum()
    planes = image if image.ndim == 3 else image[:, :, None]
    out = np.stack([ndimage.convolve(planes[:, :, c], kernel, mode="reflect") for c in range(planes.shape[2])], 2)
    return out if image.ndim == 3 else out[:, :, 0]


def render_stack(name: str, seed: int, size: int, k_frames: int, psf: float = 0.0, defocus: str = "gaussian"):
    """One synthetic focus stack of the scikit-image picture ``name``, ``size`` pixels high.

    Returns ``(sharp, registered, moved, truths)``: the sharp picture ``(H, W, 3)``, the K frames as a still
    camera would take them ``(K, H, W, 3)``, the same frames taken with every frame but the middle one moved
    by a seeded similarity, and the true frame -> anchor matrices. The scene is rendered at twice the size
    and every frame reduced 2x2 at the end, as a camera samples it: a moved frame is a new view, not a
    resampled copy of the registered one. ``psf``: the sigma (pixels of the frames) of a Gaussian blur
    standing for the lens and sensor, applied to every view before it is reduced (0: a perfect lens, the
    pixels integrate the scene over their square only, so detail near the pixel pitch aliases).
    ``defocus``: "gaussian" (mffssim.defocus) or "disk" (the same layered rendering with a pillbox blur of
    radius 2 sigma, closer to a real lens and unlike the Gaussians the registration's blur matching tries).
    """
    from skimage import data, transform

    def camera(view):  # the optics blur the view, the pixels integrate it
        return _half(gaussian_blur(view, 2 * psf) if psf > 0 else view)  # a camera's pixel: a 2x2 mean

    rng = np.random.default_rng(seed)
    picture = getattr(data, name)()
    h = size
    w = int(round(h * picture.shape[1] / picture.shape[0]))
    hi = transform.resize(picture, (2 * h, 2 * w), anti_aliasing=True).astype(np.float32)
    sharp = camera(hi)
    layers = np.zeros((k_frames, 2 * h, 2 * w), np.float32)
    for k in range(k_frames):  # depth layers: vertical bands, each frame focused on one
        layers[k, :, k * 2 * w // k_frames:(k + 1) * 2 * w // k_frames] = 1
    if defocus not in ("gaussian", "disk"):
        raise ValueError(f"defocus: expected 'gaussian' or 'disk', got {defocus!r}")
    blur = _disk_blur if defocus == "disk" else gaussian_blur
    rendered = []
    for k in range(k_frames):
        sigmas = [0.0 if j == k else 2 * (1.0 + 1.5 * abs(j - k)) for j in range(k_frames)]
        rendered.append(defocus_layers(hi, layers, sigmas, blur=blur))
    registered = np.stack([camera(r) for r in rendered])
    anchor = (k_frames - 1) // 2
    down = np.array([[0.5, 0, -0.25], [0, 0.5, -0.25], [0, 0, 1.0]])  # 2x coordinates -> 1x
    truths, moved = [], []
    for k in range(k_frames):
        if k == anchor:
            truths.append(np.eye(3))
            moved.append(registered[k])
            continue
        matrix = similarity_matrix(rng.uniform(0.96, 1.04), rng.uniform(-1, 1), *rng.uniform(-20, 20, 2), (h, w))
        truths.append(matrix)  # frame -> anchor
        matrix_hi = np.linalg.inv(down) @ matrix @ down
        moved.append(camera(warp_frame(rendered[k], np.linalg.inv(matrix_hi))))
    return sharp, registered, np.stack(moved), truths


def synthetic(args) -> list[dict]:
    """Align each synthetic stack, then fuse, on the common area, the aligned stack, the stack warped with
    the true transforms (what resampling alone costs) and the registered stack (the reference)."""
    rows = []
    for name in PICTURES:
        for seed in args.seeds:
            sharp, registered, moved, truths = render_stack(name, seed, args.size, args.frames, args.psf, args.defocus)
            k_frames, h, w = moved.shape[:3]
            t0, c0 = time.perf_counter(), time.process_time()
            alignment = align_stack(moved, blur_matching=not args.no_blur_matching)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            errors = [corner_error(alignment.transforms[k], truths[k], (h, w)) for k in range(k_frames)]
            x0, y0, cw, ch = alignment.crop
            crop = (slice(y0, y0 + ch), slice(x0, x0 + cw))
            true_alignment = Alignment(np.stack(truths), alignment.anchor, alignment.shape, alignment.crop)
            # every stack is fused on the same area (the fusion near the borders depends on the image size)
            fused = {
                "aligned": _fuse(warp_frames(moved, alignment), args.iterations),
                "true_transforms": _fuse(warp_frames(moved, true_alignment), args.iterations),
                "registered": _fuse(registered[(slice(None),) + crop], args.iterations),
            }
            truth_crop = sharp[crop]
            row = {
                "picture": name, "seed": seed, "size": f"{w}x{h}", "frames": k_frames, "psf": args.psf,
                "defocus": args.defocus,
                "blur_matching": not args.no_blur_matching,
                "corner_rms_max": max(errors), "corner_rms": errors, "crop": [x0, y0, cw, ch],
                **{f"psnr_{key}": _psnr(image, truth_crop) for key, image in fused.items()},
                "align_s": seconds, "align_cpu_s": cpu,
            }
            row["psnr_gap"] = row["psnr_registered"] - row["psnr_aligned"]
            row["psnr_gap_resampling"] = row["psnr_registered"] - row["psnr_true_transforms"]
            rows.append(row)
            print(f"{name:10s} seed {seed}: corner RMS max {row['corner_rms_max']:.3f} px, PSNR aligned "
                  f"{row['psnr_aligned']:.2f} dB, true transforms {row['psnr_true_transforms']:.2f} dB, registered "
                  f"{row['psnr_registered']:.2f} dB (gap {row['psnr_gap']:+.2f}, of which resampling "
                  f"{row['psnr_gap_resampling']:+.2f}), align {seconds:.2f} s ({cpu:.2f} CPU s)", flush=True)
    worst = max(r["corner_rms_max"] for r in rows)
    gap = max(r["psnr_gap"] for r in rows)
    print(f"worst corner RMS {worst:.3f} px; largest PSNR gap {gap:+.2f} dB over {len(rows)} stacks")
    return rows


def _dog(gray):
    from scipy import ndimage

    return ndimage.gaussian_filter(gray, 1.0) - ndimage.gaussian_filter(gray, 3.0)


def _frame_residual(frames) -> float:
    grays = [_bandpass(_gray(f)) for f in frames]
    corr = [float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) for a, b in zip(grays[:-1], grays[1:])]
    return 1.0 - float(np.mean(corr))


def _ghost_residual(fused, frames) -> float:
    dogs = np.stack([_dog(_gray(f)) for f in frames])
    df = _dog(_gray(fused))
    return float(np.abs(df[None] - dogs).min(axis=0).mean() / np.abs(dogs).mean())


def _small(image, scale):
    from skimage import transform

    if scale == 1:
        return image
    shape = (round(image.shape[0] * scale), round(image.shape[1] * scale))
    return transform.resize(image, shape, anti_aliasing=True).astype(np.float32)


def real(args) -> dict:
    from mffssim.metrics.evaluate import evaluate

    folder = Path(args.stack)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.stem.startswith(args.prefix))
    out = Path(args.out)
    frames, _ = read_image_set(paths)
    t0, c0 = time.perf_counter(), time.process_time()
    alignment = align_stack(frames, names=[p.name for p in paths], blur_matching=not args.no_blur_matching)
    aligned = warp_frames(frames, alignment)
    align_s, align_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    fused_aligned = _fuse(aligned, args.iterations)
    fuse_s, fuse_cpu = time.perf_counter() - t0, time.process_time() - c0
    fused_plain = _fuse(frames, args.iterations)
    x0, y0, w, h = alignment.crop
    crop = (slice(y0, y0 + h), slice(x0, x0 + w))
    results = {"ours_aligned": fused_aligned, "ours_unaligned": fused_plain[crop]}
    comparison_shift = None
    if args.comparison:
        other = read_image(args.comparison)
        registered, matrix = register_image(other, frames[alignment.anchor], alignment)
        results["focus_stack"] = registered
        comparison_shift = corner_error(matrix, np.eye(3), other.shape[:2])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    small_frames = np.stack([_small(f, args.metric_scale) for f in aligned])
    report = {
        "stack": str(folder.name), "frames": len(paths), "size": f"{frames.shape[2]}x{frames.shape[1]}",
        "anchor": paths[alignment.anchor].name, "crop": [x0, y0, w, h], "blur_matching": not args.no_blur_matching,
        "transforms": {p.name: describe(m) for p, m in zip(paths, alignment.transforms)},
        "align_s": align_s, "align_cpu_s": align_cpu, "fuse_s": fuse_s, "fuse_cpu_s": fuse_cpu,
        "peak_rss_mb": peak_mb, "comparison_corner_shift_px": comparison_shift,
        "frame_residual": {"unaligned": _frame_residual(frames[(slice(None),) + crop]), "aligned": _frame_residual(aligned)},
        "metric_scale": args.metric_scale, "methods": {},
    }
    out.mkdir(parents=True, exist_ok=True)
    for method, image in results.items():
        small = _small(image, args.metric_scale)
        scores = evaluate(small_frames, small, metrics=["qg", "qcb", "qmi"])
        scores["ghost"] = _ghost_residual(small, small_frames)
        report["methods"][method] = scores
        write_image(out / f"{method}.png", image)
        print(f"{folder.name} {method:15s} " + "  ".join(f"{k} {v:.4f}" for k, v in scores.items()), flush=True)
    print(f"{folder.name}: {len(paths)} frames {report['size']}, align {align_s:.1f} s ({align_cpu:.1f} CPU s), "
          f"fuse {fuse_s:.1f} s ({fuse_cpu:.1f} CPU s), peak RSS {peak_mb:.0f} MB; frame residual "
          f"{report['frame_residual']['unaligned']:.3f} -> {report['frame_residual']['aligned']:.3f}; crop {w}x{h} at ({x0}, {y0})")
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def figure(args) -> None:
    """Side by side: a detail of ours aligned, ours unaligned and focus-stack's, from ``real``'s folders."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [("ours_aligned", "ours, aligned"), ("ours_unaligned", "ours, unaligned"), ("focus_stack", "focus-stack")]
    rows = []
    for folder in map(Path, args.folders):
        present = [(m, t) for m, t in columns if (folder / f"{m}.png").is_file()]
        rows.append((folder, present))
    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 4.1 * len(rows)), squeeze=False)
    for r, (folder, present) in enumerate(rows):
        for c in range(3):
            axes[r, c].axis("off")
        for c, (method, title) in enumerate(present):
            image = read_image(folder / f"{method}.png")
            h, w = image.shape[:2]
            y, x = int(h * args.detail[1]), int(w * args.detail[0])
            axes[r, c].imshow(image[y:y + args.detail_size, x:x + args.detail_size], interpolation="nearest")
            axes[r, c].set_title(f"{folder.name}: {title}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=72, pil_kwargs={"quality": 85} if str(args.out).endswith(".jpg") else None)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    syn = commands.add_parser("synthetic")
    syn.add_argument("--size", type=int, default=384, help="height of the pictures (default 384)")
    syn.add_argument("--frames", type=int, default=3)
    syn.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    syn.add_argument("--iterations", type=int, default=100)
    syn.add_argument("--psf", type=float, default=0.5,
                     help="sigma (pixels) of the lens and sensor blur of the synthetic camera (default 0.5; 0: none)")
    syn.add_argument("--defocus", choices=("gaussian", "disk"), default="gaussian", help="the lens's defocus blur")
    syn.add_argument("--no-blur-matching", action="store_true", help="align without blur matching (the old fit)")
    syn.add_argument("--json")
    rl = commands.add_parser("real")
    rl.add_argument("stack", help="folder of the frames (read in name order)")
    rl.add_argument("--prefix", default="", help="only files whose name starts so (e.g. pcb_)")
    rl.add_argument("--comparison", help="another program's fused result of the stack")
    rl.add_argument("--out", required=True, help="folder for the fused images and report.json")
    rl.add_argument("--iterations", type=int, default=100)
    rl.add_argument("--metric-scale", type=float, default=0.5)
    rl.add_argument("--no-blur-matching", action="store_true", help="align without blur matching (the old fit)")
    rl.add_argument("--json")
    fg = commands.add_parser("figure")
    fg.add_argument("folders", nargs="+")
    fg.add_argument("--out", required=True)
    fg.add_argument("--detail", type=float, nargs=2, default=(0.35, 0.35), help="top-left of the detail, fractions")
    fg.add_argument("--detail-size", type=int, default=360)
    args = parser.parse_args(argv)
    if args.command == "synthetic":
        result = synthetic(args)
    elif args.command == "real":
        result = real(args)
    else:
        figure(args)
        return 0
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
