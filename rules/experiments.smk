# The paper's experiments as workflow targets: Table I per data set, agreement with the authors'
# published images, K > 2 sources, and results/experiments/SUMMARY.md (target `experiments`).
# Table I and K > 2 reuse the main workflow (its methods, maps and metrics.json per set); the agreement
# fuses the published pairs again with the authors' solver settings (config experiments.agreement).
# The ablation studies (rules/ablations.smk) add their outputs through ablation_targets() and their
# one-page summaries through ablation_summaries().


include: "experiments_common.smk"


rule experiment_table1:
    input:
        metrics=lambda wc: [f"results/{wc.dataset}/{s}/metrics.json" for s in table1_sets(wc.dataset)],
    output:
        csv=report(
            f"{EXPERIMENTS}/table1/{{dataset}}.csv",
            caption="../report/table.rst",
            category="Experiments",
            labels={"dataset": "{dataset}", "table": "Table I"},
        ),
        md=f"{EXPERIMENTS}/table1/{{dataset}}.md",
    log:
        "logs/experiments/table1/{dataset}.log",
    benchmark:
        "results/benchmarks/experiments/table1/{dataset}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        methods=lambda wc: table1_methods(wc.dataset),
        skipped=lambda wc: skipped_methods(wc.dataset, table1_sets(wc.dataset)),
        convention=config["metrics"]["convention"],
    script:
        "../scripts/exp_table1.py"


rule experiment_agreement_fuse:
    input:
        unpack(set_inputs),
        focus_map=rules.focus_map.output.focus_map.replace("{detector}", "lap"),
    output:
        fused=f"{EXPERIMENTS}/agreement/{{dataset}}/{{set}}/fused.png",
        focus_map=f"{EXPERIMENTS}/agreement/{{dataset}}/{{set}}/focus_map.png",
        trace=f"{EXPERIMENTS}/agreement/{{dataset}}/{{set}}/trace.csv",
        fusion=f"{EXPERIMENTS}/agreement/{{dataset}}/{{set}}/fusion.json",
    log:
        "logs/experiments/agreement/{dataset}/{set}.log",
    benchmark:
        "results/benchmarks/experiments/agreement/{dataset}/{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: config["fusion"]["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        **solver_params(
            init="mean",  # the authors start from the mean of the sources
            **{k: config["experiments"]["agreement"][k] for k in AGREEMENT_SOLVER_KEYS},
        ),
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
    script:
        "../scripts/fuse_mffssim.py"


rule experiment_agreement:
    input:
        fused=lambda wc: [agreement_fused(d, s) for d, s in agreement_pairs()],
        focus_map=lambda wc: [f"results/{d}/{s}/maps/lap.png" for d, s in agreement_pairs()],
        official=lambda wc: [f"results/{d}/{s}/official_ms_lap/fused.png" for d, s in agreement_pairs()],
        official_map=lambda wc: [f"results/{d}/{s}/official_ms_lap/focus_map.png" for d, s in agreement_pairs()],
    output:
        csv=report(
            f"{EXPERIMENTS}/agreement/agreement.csv",
            caption="../report/table.rst",
            category="Experiments",
            labels={"dataset": "mffw, lytro, grayscale", "table": "agreement with the authors"},
        ),
        means=f"{EXPERIMENTS}/agreement/means.csv",
        md=f"{EXPERIMENTS}/agreement/agreement.md",
    log:
        "logs/experiments/agreement.log",
    benchmark:
        "results/benchmarks/experiments/agreement.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        pairs=lambda wc: [list(p) for p in agreement_pairs()],
        settings=lambda wc: {
            k: config["experiments"]["agreement"][k]
            for k in ("variant", "optimizer", "lr", "iterations", "tol", "dtype")
        }
        | {
            "image": (
                "the main workflow's mffssim_reference-lap" if agreement_reuses_main() else "fused for the agreement"
            )
        },
    script:
        "../scripts/exp_agreement.py"


rule experiment_detector_agreement:
    input:
        unpack(detector_agreement_inputs),
    output:
        csv=report(
            f"{EXPERIMENTS}/detector_agreement/agreement.csv",
            caption="../report/table.rst",
            category="Experiments",
            labels={"dataset": "mffw, lytro, grayscale", "table": "focus maps against the authors'"},
        ),
        means=f"{EXPERIMENTS}/detector_agreement/means.csv",
        md=f"{EXPERIMENTS}/detector_agreement/agreement.md",
    log:
        "logs/experiments/detector_agreement.log",
    benchmark:
        "results/benchmarks/experiments/detector_agreement.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        pairs=lambda wc: [list(p) for p in detector_agreement_pairs()],
        set_dirs=lambda wc: [set_dir(d, s) for d, s in detector_agreement_pairs()],
        tune=config["experiments"]["detector_agreement"]["tune"],
        detector=detector_description(),
    script:
        "../scripts/exp_detector_agreement.py"


# target `detector_agreement`: that table alone
rule detector_agreement:
    input:
        f"{EXPERIMENTS}/detector_agreement/agreement.md",


rule experiment_multi_source:
    input:
        metrics=lambda wc: [f"results/{d}/{s}/metrics.json" for d, s in multi_source_sets()],
        data=lambda wc: sorted({data_index(d) for d, _ in multi_source_sets()}),
        focus_map=lambda wc: [f"results/{d}/{s}/maps/lap.png" for d, s in multi_source_sets()],
        fused=lambda wc: [
            f"results/{d}/{s}/{m}/fused.png" for d, s in multi_source_sets() for m in multi_source_figure_methods(d, s)
        ],
    output:
        csv=f"{EXPERIMENTS}/multi_source/table.csv",
        md=f"{EXPERIMENTS}/multi_source/table.md",
        figure=report(
            f"{EXPERIMENTS}/multi_source/figure.png",
            caption="../report/panel.rst",
            category="Experiments",
            labels={"dataset": "K > 2", "figure": "Fig. 12"},
        ),
    log:
        "logs/experiments/multi_source.log",
    benchmark:
        "results/benchmarks/experiments/multi_source.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        sets=lambda wc: [
            {
                "dataset": d,
                "set": s,
                "dir": set_dir(d, s),
                "K": n_sources(d, s),
                "methods": multi_source_figure_methods(d, s),
            }
            for d, s in multi_source_sets()
        ],
        convention=config["metrics"]["convention"],
    script:
        "../scripts/exp_multi_source.py"


rule experiment_summary:
    input:
        table1=lambda wc: [f"{EXPERIMENTS}/table1/{d}.csv" for d in table1_datasets()],
        agreement=lambda wc: [f"{EXPERIMENTS}/agreement/agreement.csv"] if agreement_pairs() else [],
        multi_source=lambda wc: [f"{EXPERIMENTS}/multi_source/table.csv"] if multi_source_sets() else [],
        studies=lambda wc: _ablation("ablation_summaries"),
    output:
        summary=report(
            f"{EXPERIMENTS}/SUMMARY.md",
            caption="../report/table.rst",
            category="Experiments",
            labels={"dataset": "all", "table": "SUMMARY"},
        ),
    log:
        "logs/experiments/summary.log",
    benchmark:
        "results/benchmarks/experiments/summary.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        datasets=lambda wc: table1_datasets(),
        facts=lambda wc: run_facts(),
        skipped_by_dataset=lambda wc: {d: skipped_methods(d, table1_sets(d)) for d in table1_datasets()},
    script:
        "../scripts/exp_summary.py"


rule experiments:
    input:
        lambda wc: _ablation("ablation_targets") + experiment_outputs(),
