# Metrics of every fused image (one job per image set: it scores all the set's methods, so each job
# pays the start-up cost once) and the per-data-set tables (methods x metrics, mean and std, best marked).


rule metrics:
    input:
        unpack(set_inputs),
        fused=lambda wc: [f"results/{wc.dataset}/{wc.set}/{m}/fused.png" for m in methods_for(wc.dataset, wc.set)],
        index_map=lambda wc: f"results/{wc.dataset}/{wc.set}/maps/{index_detector(wc.dataset, wc.set)}.png",
    output:
        metrics="results/{dataset}/{set}/metrics.json",
    log:
        "logs/metrics/{dataset}/{set}.log",
    benchmark:
        "results/benchmarks/metrics/{dataset}/{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        methods=lambda wc: methods_for(wc.dataset, wc.set),
        names=config["metrics"]["names"],
        index_variant=config["metrics"]["index_variant"],
        window_ratio=config["focus"]["window_ratio"],
        window_cap=config["focus"]["window_cap"],
    script:
        "../scripts/metrics.py"


rule table:
    input:
        metric_files,
    output:
        csv=report(
            "results/tables/{dataset}.csv",
            caption="../report/table.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "format": "csv"},
        ),
        md="results/tables/{dataset}.md",
    log:
        "logs/tables/{dataset}.log",
    benchmark:
        "results/benchmarks/tables/{dataset}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        methods=lambda wc: dataset_methods(wc.dataset),
        skipped=lambda wc: skipped_methods(wc.dataset),
    script:
        "../scripts/table.py"
