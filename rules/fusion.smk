# Fusion per image set. Method ids: <fuser>-<detector> for the map-based fusers (mffssim_paper,
# mffssim_reference, mffssim_paper_long, pixelwise), then average, enfuse and the authors' published
# official_ms_lap/_resnet. Every MFF-SSIM fusion also writes fusion.json, the solver's record (iterations,
# early stop, returned iterate, seconds; mffssim.workflow.quality.fusion_record). Every fusion first checks
# that the set's sources look like one scene (config fusion.scene_check; scripts/_wf.py check_scene).


rule fuse_mffssim:
    input:
        unpack(set_inputs),
        focus_map=rules.focus_map.output.focus_map,
    output:
        fused="results/{dataset}/{set}/mffssim_{variant}-{detector}/fused.png",
        focus_map="results/{dataset}/{set}/mffssim_{variant}-{detector}/focus_map.png",
        trace="results/{dataset}/{set}/mffssim_{variant}-{detector}/trace.csv",
        fusion="results/{dataset}/{set}/mffssim_{variant}-{detector}/fusion.json",
    log:
        "logs/fusion/{dataset}/{set}/mffssim_{variant}-{detector}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/mffssim_{variant}-{detector}.tsv"
    wildcard_constraints:
        detector="lap|given",  # MS-ResNet (sequential for K > 2) is rule fuse_ms_resnet in rules/detector.smk
    conda:
        "../envs/mffssim.yaml"
    threads: config["fusion"]["threads"]
    resources:
        mem_mb=fuse_mem_mb(),
        runtime=60,
    params:
        **solver_params(),
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
        variant=lambda wc: wc.variant,
    script:
        "../scripts/fuse_mffssim.py"


# mffssim_paper_long: the paper variant with the solver settings of config `fusion`, but the iterations and
# tol of config `quality.long` (300 iterations, no early stop by default): does a longer run pay off?
rule fuse_mffssim_long:
    input:
        unpack(set_inputs),
        focus_map=rules.focus_map.output.focus_map,
    output:
        fused="results/{dataset}/{set}/mffssim_paper_long-{detector}/fused.png",
        focus_map="results/{dataset}/{set}/mffssim_paper_long-{detector}/focus_map.png",
        trace="results/{dataset}/{set}/mffssim_paper_long-{detector}/trace.csv",
        fusion="results/{dataset}/{set}/mffssim_paper_long-{detector}/fusion.json",
    log:
        "logs/fusion/{dataset}/{set}/mffssim_paper_long-{detector}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/mffssim_paper_long-{detector}.tsv"
    wildcard_constraints:
        detector="lap|given",
    conda:
        "../envs/mffssim.yaml"
    threads: config["fusion"]["threads"]
    resources:
        mem_mb=fuse_mem_mb(),
        runtime=120,
    params:
        **solver_params(
            variant="paper",
            iterations=config["quality"]["long"]["iterations"],
            tol=config["quality"]["long"]["tol"],
        ),
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
    script:
        "../scripts/fuse_mffssim.py"


rule fuse_pixelwise:
    input:
        unpack(set_inputs),
        focus_map=rules.focus_map.output.focus_map,
    output:
        fused="results/{dataset}/{set}/pixelwise-{detector}/fused.png",
        focus_map="results/{dataset}/{set}/pixelwise-{detector}/focus_map.png",
    log:
        "logs/fusion/{dataset}/{set}/pixelwise-{detector}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/pixelwise-{detector}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
    script:
        "../scripts/fuse_baseline.py"


rule fuse_average:
    input:
        unpack(set_inputs),
    output:
        fused="results/{dataset}/{set}/average/fused.png",
    log:
        "logs/fusion/{dataset}/{set}/average.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/average.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
    script:
        "../scripts/fuse_baseline.py"


rule fuse_enfuse:
    input:
        unpack(set_inputs),
    output:
        fused="results/{dataset}/{set}/enfuse/fused.png",
    log:
        "logs/fusion/{dataset}/{set}/enfuse.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/enfuse.tsv"
    conda:
        "../envs/enfuse.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        scene_check=config["fusion"]["scene_check"],
        options=[
            "--exposure-weight=0",
            "--saturation-weight=0",
            "--contrast-weight=1",
            "--hard-mask",
            "--depth=r32",  # float output: deterministic (8/16-bit output is dithered at random)
        ],
    script:
        "../scripts/fuse_enfuse.py"


rule official_result:
    input:
        unpack(set_inputs),
        official=data_index("mffssim_official_results"),
    output:
        fused="results/{dataset}/{set}/official_{kind}/fused.png",
        focus_map="results/{dataset}/{set}/official_{kind}/focus_map.png",
    log:
        "logs/fusion/{dataset}/{set}/official_{kind}.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/official_{kind}.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        official_dir=lambda wc: f"{DATA}/{registry.OFFICIAL_RESULTS}/{registry.official_dir(wc.dataset, wc.set)}",
    script:
        "../scripts/official_result.py"
