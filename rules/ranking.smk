# Ranking against the field: the 30 methods MFIFB published (method family `published`), a user's
# own fused images (config ranking.own), per-method metrics (a set's metrics.json is assembled from them by rule
# metrics, rules/metrics.smk), and per data set the ranked tables and rank chart (target `ranking`).


# the published results of one pair (MFIFB's 30 methods), downloaded from the mfifb_results manifest
rule download_published_pair:
    output:
        index=f"{DATA}/{PUBLISHED_RESULTS}/{{set}}.index.tsv",
    log:
        "logs/data/download_published_{set}.log",
    benchmark:
        "results/benchmarks/data/download_published_{set}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        dest=lambda wildcards, output: str(Path(output.index).parent),
        mirror=config["download"]["mirror"],
        retries=config["download"]["retries"],
    script:
        "../scripts/download_published.py"


# the sources' features that every fused image of the set reuses (phase congruency for QP, per channel under the
# mfifb convention)
rule source_features:
    input:
        unpack(set_inputs),
    output:
        features="results/{dataset}/{set}/features.npz",
    log:
        "logs/metrics/{dataset}/{set}/features.log",
    benchmark:
        "results/benchmarks/metrics/{dataset}/{set}/features.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        convention=config["metrics"]["convention"],
    script:
        "../scripts/source_features.py"


# metrics of every method's fused image of one set, the published results aside (one job per set; each method's
# values are kept in its folder with its image's checksum and the params, so adding a method scores only that method)
rule method_metrics:
    input:
        unpack(set_inputs),
        fused=lambda wc: [f"results/{wc.dataset}/{wc.set}/{m}/fused.png" for m in scored_methods(wc.dataset, wc.set)],
        index_map=lambda wc: f"results/{wc.dataset}/{wc.set}/maps/{index_detector(wc.dataset, wc.set)}.png",
        features=rules.source_features.output.features,
    output:
        metrics="results/{dataset}/{set}/methods.metrics.json",
    log:
        "logs/metrics/{dataset}/{set}/methods.log",
    benchmark:
        "results/benchmarks/metrics/{dataset}/{set}/methods.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        methods=lambda wc: scored_methods(wc.dataset, wc.set),
        cache_dir=lambda wc: f"results/{wc.dataset}/{wc.set}",
        scene_check=config["fusion"]["scene_check"],
        names=config["metrics"]["names"],
        convention=config["metrics"]["convention"],
        fmi_thinning=config["metrics"]["fmi_thinning"],
        index_variant=config["metrics"]["index_variant"],
        window_ratio=config["focus"]["window_ratio"],
        window_cap=config["focus"]["window_cap"],
    script:
        "../scripts/method_metrics.py"


# metrics of all the published results of one set, read straight from the download (one job per pair: 30
# images, the start-up paid once)
rule published_metrics:
    input:
        unpack(set_inputs),
        published=published_pair_index,
        index_map=lambda wc: f"results/{wc.dataset}/{wc.set}/maps/{index_detector(wc.dataset, wc.set)}.png",
        features=rules.source_features.output.features,
    output:
        metrics="results/{dataset}/{set}/published.metrics.json",
    log:
        "logs/metrics/{dataset}/{set}/published.log",
    benchmark:
        "results/benchmarks/metrics/{dataset}/{set}/published.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
        files=lambda wc: published_paths(wc.dataset, wc.set),
        names=config["metrics"]["names"],
        convention=config["metrics"]["convention"],
        fmi_thinning=config["metrics"]["fmi_thinning"],
        index_variant=config["metrics"]["index_variant"],
        window_ratio=config["focus"]["window_ratio"],
        window_cap=config["focus"]["window_cap"],
    script:
        "../scripts/published_metrics.py"


# one published result as a fused image (only a panel naming it in figures.methods asks for it)
rule published_result:
    input:
        unpack(set_inputs),
        published=published_pair_index,
    output:
        fused="results/{dataset}/{set}/published_{name}/fused.png",
    log:
        "logs/fusion/{dataset}/{set}/published_{name}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/published_{name}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        file=lambda wc: published_paths(wc.dataset, wc.set)[f"published_{wc.name}"],
        convention=config["metrics"]["convention"],
    script:
        "../scripts/external_result.py"


# the user's own fused image of one set (config ranking.own: <dir>/<dataset>/<set>.<ext>)
rule own_result:
    input:
        unpack(set_inputs),
        own=lambda wc: own_path(wc.dataset, wc.set),
    output:
        fused="results/{dataset}/{set}/own_{name}/fused.png",
    log:
        "logs/fusion/{dataset}/{set}/own_{name}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/own_{name}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        file=lambda wc: own_path(wc.dataset, wc.set),
        convention=config["metrics"]["convention"],
    script:
        "../scripts/external_result.py"


rule ranking_table:
    input:
        metric_files,
    output:
        csv=report(
            "results/ranking/{dataset}.csv",
            caption="../report/ranking.rst",
            category="Ranking",
            labels={"dataset": "{dataset}", "figure": "table (csv)"},
        ),
        md=report(
            "results/ranking/{dataset}.md",
            caption="../report/ranking.rst",
            category="Ranking",
            labels={"dataset": "{dataset}", "figure": "table"},
        ),
        chart=report(
            "results/ranking/{dataset}_ranks.png",
            caption="../report/ranking_chart.rst",
            category="Ranking",
            labels={"dataset": "{dataset}", "figure": "rank chart"},
        ),
    log:
        "logs/ranking/{dataset}.log",
    benchmark:
        "results/benchmarks/ranking/{dataset}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        methods=lambda wc: dataset_methods(wc.dataset),
        min_coverage=config["ranking"]["min_coverage"],
        convention=config["metrics"]["convention"],
        own_missing=lambda wc: own_missing(wc.dataset),
        own=own_method(),
    script:
        "../scripts/ranking.py"


# MFFW in the paper's Table I layout: the paper's rows beside ours on MFIFB's JPEG MFFW pairs
rule ranking_table1:
    input:
        lambda wc: [f"results/mfifb/{s}/metrics.json" for s in SETS["mfifb"] if s.startswith("mffw_")],
    output:
        md=report(
            "results/ranking/mffw_table1.md",
            caption="../report/ranking_table1.rst",
            category="Ranking",
            labels={"dataset": "mffw (MFIFB JPEG pairs)", "figure": "Table I"},
        ),
    log:
        "logs/ranking/mffw_table1.log",
    benchmark:
        "results/benchmarks/ranking/mffw_table1.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        convention=config["metrics"]["convention"],
    script:
        "../scripts/ranking_table1.py"


rule ranking:
    input:
        lambda wc: ranking_outputs(),
