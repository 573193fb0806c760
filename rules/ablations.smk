# The paper's ablations and studies (Section III): robustness to map errors (Fig. 7), window size
# (Figs. 9-11), detector depth and width (Fig. 8), speed vs image size and window. Each study writes
# results/experiments/<study>/<study>.csv, <study>.png and summary.md (mffssim/workflow/experiments/<study>.py);
# the per-set (per grid point) jobs before them cache their part, so a config change reruns only its part.


include: "ablations_common.smk"


rule ablations:
    input:
        ablation_targets(),


# ------------------------------------------------------------------------------------- robustness (Fig. 7)
rule abl_robustness_set:
    input:
        _study_data,
    output:
        csv=f"{ABLATIONS}/robustness/sets/{{dataset}}/{{set}}.csv",
    log:
        "logs/experiments/robustness/{dataset}/{set}.log",
    benchmark:
        "results/benchmarks/experiments/robustness/{dataset}/{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: config["fusion"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        probabilities=_study("robustness")["probabilities"],
        trials=_study("robustness")["trials"],
        seed=_study("robustness")["seed"],
        fuse=_fuse_options(_study("robustness")["variant"]),
    script:
        "../scripts/abl_robustness_set.py"


rule abl_robustness:
    input:
        lambda wc: [f"{ABLATIONS}/robustness/sets/{d}/{s}.csv" for d, s in _study_sets("robustness")],
    output:
        csv=f"{ABLATIONS}/robustness/robustness.csv",
        summary_csv=f"{ABLATIONS}/robustness/robustness_summary.csv",
        figure=f"{ABLATIONS}/robustness/robustness.png",
        md=f"{ABLATIONS}/robustness/summary.md",
    log:
        "logs/experiments/robustness.log",
    benchmark:
        "results/benchmarks/experiments/robustness.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings={**_fuse_options(_study("robustness")["variant"]), "trials": _study("robustness")["trials"]},
    script:
        "../scripts/abl_robustness.py"


# ------------------------------------------------------------------------------- window size (Figs. 9-11)
rule abl_window_set:
    input:
        lambda wc: [] if wc.dataset == "embedded" else _study_data(wc),
    output:
        csv=f"{ABLATIONS}/window/sets/{{dataset}}/{{set}}.csv",
    log:
        "logs/experiments/window/{dataset}/{set}.log",
    benchmark:
        "results/benchmarks/experiments/window/{dataset}/{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: config["fusion"]["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        set_dir=lambda wc: None if wc.dataset == "embedded" else set_dir(wc.dataset, wc.set),
        embedded={"seed": config["embedded"]["seed"], "size": _study("window")["embedded_size"]},
        ratios=_study("window")["ratios"],
        variants=_study("window")["variants"],
        metrics=_study("window")["metrics"],
        fuse=_fuse_options(),
    script:
        "../scripts/abl_window_set.py"


rule abl_window:
    input:
        lambda wc: [f"{ABLATIONS}/window/sets/{d}/{s}.csv" for d, s in _study_sets("window")],
    output:
        csv=f"{ABLATIONS}/window/window.csv",
        best=f"{ABLATIONS}/window/window_best.csv",
        figure=f"{ABLATIONS}/window/window.png",
        md=f"{ABLATIONS}/window/summary.md",
    log:
        "logs/experiments/window.log",
    benchmark:
        "results/benchmarks/experiments/window.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings={
            **_fuse_options(),
            "metrics": _study("window")["metrics"],
            "embedded_size": _study("window")["embedded_size"],
        },
    script:
        "../scripts/abl_window.py"


# ------------------------------------------------------------------------- detector depth and width (Fig. 8)
rule abl_detector_variant:
    input:
        detector_training_data,
    output:
        weights=f"{ABLATIONS}/detector_ablation/F{{width}}_B{{blocks}}/weights.pt",
        evaluation=f"{ABLATIONS}/detector_ablation/F{{width}}_B{{blocks}}/evaluation.csv",
    log:
        "logs/experiments/detector_ablation/F{width}_B{blocks}.log",
    benchmark:
        "results/benchmarks/experiments/detector_ablation/F{width}_B{blocks}.tsv"
    wildcard_constraints:
        width=r"\d+",
        blocks=r"\d+",
    conda:
        "../envs/mffssim.yaml"
    threads: _study("detector_ablation")["threads"]
    resources:
        mem_mb=4000,
        runtime=240,
    params:
        settings=detector_variant_settings,
        device=config["detector"]["device"],
    script:
        "../scripts/abl_detector_variant.py"


rule abl_detector:
    input:
        lambda wc: [f"{ABLATIONS}/detector_ablation/F{w}_B{b}/evaluation.csv" for w, b in detector_grid()],
    output:
        csv=f"{ABLATIONS}/detector_ablation/detector_ablation.csv",
        figure=f"{ABLATIONS}/detector_ablation/detector_ablation.png",
        md=f"{ABLATIONS}/detector_ablation/summary.md",
    log:
        "logs/experiments/detector_ablation.log",
    benchmark:
        "results/benchmarks/experiments/detector_ablation.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings={
            **{k: v for k, v in _study("detector_ablation").items() if k != "threads"},
            **{k: config["detector"][k] for k in ("source", "crop", "batch_size", "lr")},
        },
    script:
        "../scripts/abl_detector.py"


# ------------------------------------------------------------------------------------------ speed (item 7)
rule abl_speed:
    output:
        csv=f"{ABLATIONS}/speed/speed.csv",
        figure=f"{ABLATIONS}/speed/speed.png",
        md=f"{ABLATIONS}/speed/summary.md",
    log:
        "logs/experiments/speed.log",
    benchmark:
        "results/benchmarks/experiments/speed.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: _study("speed")["threads"]
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        study={k: v for k, v in _study("speed").items() if k != "threads"},
        fuse=_fuse_options(),
    script:
        "../scripts/abl_speed.py"
