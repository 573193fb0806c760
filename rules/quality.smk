# The ground-truth quality benchmark (target `quality`, config/quality.yaml): every method of the main
# workflow scored against the all-in-focus reference, pair by pair, on the selected data sets that have
# references. It reuses the main workflow's rules (maps, fusion, metrics.json per set, fusion.json per
# MFF-SSIM image) and only aggregates them (mffssim/workflow/quality.py): results/quality/<dataset>/pairs.csv (one row
# per pair and method), summary.md (mean, median, pairs below pixel-wise, the five worst pairs), psnr.png.


include: "quality_common.smk"


rule quality_dataset:
    input:
        metrics=lambda wc: [f"results/{wc.dataset}/{s}/metrics.json" for s in quality_sets(wc.dataset)],
        fusion=lambda wc: quality_fusion_files(wc.dataset),
    output:
        csv=report(
            f"{QUALITY}/{{dataset}}/pairs.csv",
            caption="../report/quality_pairs.rst",
            category="Quality",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "output": "per-pair table"},
        ),
        md=report(
            f"{QUALITY}/{{dataset}}/summary.md",
            caption="../report/quality_summary.rst",
            category="Quality",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "output": "summary"},
        ),
        figure=report(
            f"{QUALITY}/{{dataset}}/psnr.png",
            caption="../report/quality_figure.rst",
            category="Quality",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "output": "PSNR against pixel-wise"},
        ),
    log:
        "logs/quality/{dataset}.log",
    benchmark:
        "results/benchmarks/quality/{dataset}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        methods=lambda wc: quality_methods(wc.dataset),
        title=lambda wc: f"{wc.dataset}: quality against the all-in-focus reference, {len(quality_sets(wc.dataset))} image sets",
    script:
        "../scripts/quality.py"


rule quality:
    input:
        lambda wc: quality_outputs(),
