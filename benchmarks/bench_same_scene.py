"""Evidence for the same-scene check (mffssim.scene; docs/photos.md "Sources of one scene").

Downloads the real data sets through the project's downloader (from ``MFFSSIM_MIRROR`` when it is set, else
the public urls) into the cache (``mffssim.datasets.cache_dir()/data``) and prints

* ``real``: the scene score of every set the project downloads (MFFW, Lytro, Grayscale, the MFIFB pairs,
  NYU-D-100, MF-VOC, the paper's three-source shell, focus_stack_examples as shot and after ``align_stack``;
  K > 2 sets included):
  the lowest frame score of each set, the distribution over the sets and the lowest five;
* ``swapped``: for Lytro and MFFW, every pair made of one set's source_1 and another set's source_2 (all
  ordered pairs of different sets of the data set; sizes may differ): the distribution and the highest five;
* ``stray``: every K > 2 set of Lytro and MFFW with its middle frame replaced by another set's source_2 (each
  other set of the data set): how often the check names exactly the replaced frame;
* the margin (the lowest real score less the highest swapped one), how many sets of each group are flagged at
  the threshold, and the same for the crude measure it replaces (Pearson correlation of the gray frames
  resized to 32x32; frame score = best pair, as the check's);
* ``cost``: CPU seconds (``time.process_time``, one torch thread) of the check on a 520x520 colour pair
  (Lytro's lytro_01, read beforehand) against a default fusion of the same pair (``mffssim.fuse`` with its
  defaults: Laplacian map, adam-cosine), measured in the same run, and their ratio.

    MFFSSIM_MIRROR=/path/to/data python benchmarks/bench_same_scene.py [--no-aligned] [--json out.json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mffssim.datasets import cache_dir, download_dataset  # noqa: E402
from mffssim.datasets.stacks import link_frame_sources  # noqa: E402
from mffssim.io import find_image_sets, read_image, read_image_set  # noqa: E402
from mffssim.scene import THRESHOLD, best_matches, check_scene, pair_score, scene_features  # noqa: E402

REAL = ("mffw", "lytro", "grayscale", "mfifb", "nyu_d_100", "mf_voc_subset", "mffssim_examples", "focus_stack_examples")
SWAPPED = ("lytro", "mffw")
ALIGNED = "focus_stack_examples"
COST_SET = ("lytro", "lytro_01")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def fetch(name: str) -> dict:
    """The image sets of data set ``name``, downloaded (verified) into the cache."""
    root = cache_dir() / "data" / name
    download_dataset(name, root, mirror=os.environ.get("MFFSSIM_MIRROR"), progress=False)
    link_frame_sources(name, root)
    return find_image_sets(root)


def _crude(frame: np.ndarray) -> np.ndarray:
    """The crude measure's features: the gray frame area-resized to 32x32, centred and scaled."""
    from PIL import Image

    from mffssim.align import _gray

    small = np.asarray(Image.fromarray(_gray(frame)).resize((32, 32), Image.BOX), dtype=np.float64)
    small -= small.mean()
    return small / (np.linalg.norm(small) + 1e-20)


def _crude_scores(crude: list[np.ndarray]) -> np.ndarray:
    return np.array([max(float(np.vdot(a, b)) for j, b in enumerate(crude) if j != i) for i, a in enumerate(crude)])


def features_of(frames) -> tuple[list, list]:
    """Both measures' features of each frame."""
    return [scene_features(f) for f in frames], [_crude(f) for f in frames]


def summary(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"n": int(values.size), "min": float(values.min()),
            **{f"q{round(q * 100):02d}": float(np.quantile(values, q)) for q in QUANTILES}, "max": float(values.max())}


def _line(name: str, stats: dict) -> str:
    cells = " ".join(f"{k} {v:.3f}" for k, v in stats.items() if k != "n")
    return f"  {name:<22} n {stats['n']:4d}  {cells}"


def collect(aligned: bool) -> tuple[dict, dict]:
    """Per set: (both measures' per-frame scores) and the frames' features (swapping and strays reuse them)."""
    from mffssim.align import align_stack, warp_frames

    real, features = {}, {}
    for name in REAL:
        for set_id, files in fetch(name).items():
            frames = [read_image(p) for p in files.sources]
            feats, crude = features_of(frames)
            features[f"{name}/{set_id}"] = (feats, crude)
            real[f"{name}/{set_id}"] = (best_matches(feats), _crude_scores(crude))
            if aligned and name == ALIGNED:
                stack = np.stack(frames)
                warped = warp_frames(stack, align_stack(stack))
                feats, crude = features_of(list(warped))
                real[f"{name}_aligned/{set_id}"] = (best_matches(feats), _crude_scores(crude))
            for key in (k for k in (f"{name}/{set_id}", f"{name}_aligned/{set_id}") if k in real):
                print(f"  {key}: {len(real[key][0])} frames, scores {np.round(real[key][0], 3).tolist()}", file=sys.stderr)
    return real, features


def swapped_pairs(features: dict) -> dict:
    """(check score, crude score) of every pair [a.source_1, b.source_2] of different sets a, b of Lytro and MFFW."""
    pairs = {}
    for name in SWAPPED:
        ids = sorted(k for k in features if k.startswith(f"{name}/"))
        for a, b in itertools.permutations(ids, 2):
            (fa, ca), (fb, cb) = features[a], features[b]
            pairs[f"{a}:source_1+{b.split('/')[1]}:source_2"] = (pair_score(fa[0], fb[1]), float(np.vdot(ca[0], cb[1])))
    return pairs


def strays(features: dict) -> dict:
    """For each K > 2 set of Lytro and MFFW and each other set of its data set: the middle frame replaced by the
    other set's source_2; counts of (exactly that frame named, another frame named too, not named)."""
    counts = {"exact": 0, "more": 0, "missed": 0}
    lowest_kept = []
    for name in SWAPPED:
        ids = sorted(k for k in features if k.startswith(f"{name}/"))
        for a in ids:
            feats = features[a][0]
            if len(feats) < 3:
                continue
            middle = (len(feats) - 1) // 2
            for b in ids:
                if b == a:
                    continue
                scores = best_matches([*feats[:middle], features[b][0][1], *feats[middle + 1:]])
                flagged = [k for k, s in enumerate(scores) if s < THRESHOLD]
                lowest_kept.append(min(s for k, s in enumerate(scores) if k != middle))
                counts["exact" if flagged == [middle] else "more" if middle in flagged else "missed"] += 1
    return {**counts, "lowest_other_frame": float(min(lowest_kept))}


def cost(repeats: int = 20) -> dict:
    """CPU seconds of the check and of a default fusion of a 520x520 colour pair, one torch thread."""
    import torch

    from mffssim import fuse

    torch.set_num_threads(1)
    name, set_id = COST_SET
    files = fetch(name)[set_id]
    sources, _ = read_image_set(files.sources)
    names = [str(p) for p in files.sources]
    check_scene(sources, names=names)  # warm: imports, first calls
    checks = []
    for _ in range(repeats):
        start = time.process_time()
        check_scene(sources, names=names)
        checks.append(time.process_time() - start)
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    fuse(sources, None, device="cpu", progress=False)
    fusion_cpu, fusion_wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    check = float(np.median(checks))
    return {"set": f"{name}/{set_id}", "size": list(sources.shape), "check_cpu_s_median": check,
            "check_cpu_s_max": float(max(checks)), "repeats": repeats, "fusion_cpu_s": fusion_cpu,
            "fusion_wall_s": fusion_wall, "ratio": check / fusion_cpu, "threads": torch.get_num_threads(),
            "load": list(os.getloadavg())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-aligned", action="store_true", help="skip aligning focus_stack_examples (about a minute)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    args = parser.parse_args(argv)

    real, features = collect(aligned=not args.no_aligned)
    swapped = swapped_pairs(features)
    result = {"threshold": THRESHOLD}
    for index, measure in enumerate(("check", "crude")):
        lowest = {k: float(np.nanmin(v[index])) for k, v in real.items()}
        highest = {k: v[index] for k, v in swapped.items()}
        result[measure] = {
            "real": summary(list(lowest.values())), "swapped": summary(list(highest.values())),
            "margin": min(lowest.values()) - max(highest.values()),
            "lowest_real": sorted(lowest.items(), key=lambda kv: kv[1])[:5],
            "highest_swapped": sorted(highest.items(), key=lambda kv: -kv[1])[:5],
        }
    check = result["check"]
    check["real_flagged"] = int(sum(float(np.nanmin(v[0])) < THRESHOLD for v in real.values()))
    check["swapped_flagged"] = int(sum(v[0] < THRESHOLD for v in swapped.values()))
    result["stray"] = strays(features)
    result["cost"] = cost()

    for measure, title in (("check", f"the check (mffssim.scene, threshold {THRESHOLD})"),
                           ("crude", "crude: Pearson of the gray frames at 32x32")):
        block = result[measure]
        print(f"{title}\n{_line('real sets (lowest)', block['real'])}\n{_line('swapped pairs', block['swapped'])}")
        print(f"  margin (lowest real - highest swapped): {block['margin']:+.3f}")
        print("  lowest real:     " + ", ".join(f"{k} {v:.3f}" for k, v in block["lowest_real"]))
        print("  highest swapped: " + ", ".join(f"{k} {v:.3f}" for k, v in block["highest_swapped"]))
    print(f"flagged at {THRESHOLD}: real {check['real_flagged']} of {check['real']['n']} sets, "
          f"swapped {check['swapped_flagged']} of {check['swapped']['n']} pairs")
    stray = result["stray"]
    print(f"stray frame in a K > 2 set: named exactly {stray['exact']}, named with others {stray['more']}, "
          f"missed {stray['missed']}; lowest score of a kept frame {stray['lowest_other_frame']:.3f}")
    c = result["cost"]
    print(f"cost on {c['set']} {c['size']}, {c['threads']} torch thread, load {c['load'][0]:.2f}: check "
          f"{c['check_cpu_s_median'] * 1000:.1f} ms CPU (median of {c['repeats']}, max {c['check_cpu_s_max'] * 1000:.1f}), "
          f"default fusion {c['fusion_cpu_s']:.2f} s CPU ({c['fusion_wall_s']:.2f} s wall): {100 * c['ratio']:.2f} %")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
