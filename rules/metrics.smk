# Metrics of every image set, assembled from per-method metrics (rules method_metrics and published_metrics in
# rules/ranking.smk: adding a method scores only that method), and the per-data-set tables (methods x metrics,
# mean and std, best marked).


rule metrics:
    input:
        method_metrics=method_metric_files,  # per method (rules/ranking.smk); functions in rules/ranking_common.smk
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
        mem_mb=1000,
        runtime=5,
    params:
        methods=lambda wc: methods_for(wc.dataset, wc.set),
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
        convention=config["metrics"]["convention"],
    script:
        "../scripts/table.py"
