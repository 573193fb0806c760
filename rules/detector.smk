# The ResNet focus-map detector (docs/detector.md): train it once (results/detector/; or take the weights
# file config detector.weights names, whose sha256 is then a param of the map rules), map every K = 2
# set with it (maps/resnet.png) and run MS-ResNet. Method ids: mffssim_<variant>-resnet is MS-ResNet and
# pixelwise-resnet Eq. 1 with the ResNet map. For K > 2 the network still compares two images at a time,
# so both go sequentially, ((X1 + X2) + X3) + ... (mffssim.detector.fuse_sequential): maps/resnet.png is
# then the K-way map composed from the steps of a pixel-wise sequential fusion, and mffssim_<variant>-resnet
# fuses each step by MFF-SSIM optimisation, saving each step's map and Q trace under its steps/ folder.

RESNET_RULES = True


rule train_detector:
    input:
        detector_training_data,
    output:
        weights=f"{DETECTOR_DIR}/weights.pt",
        loss_csv=f"{DETECTOR_DIR}/loss.csv",
        loss=report(
            f"{DETECTOR_DIR}/loss.png",
            caption="../report/detector_loss.rst",
            category="Detector",
            labels={"figure": "loss curve"},
        ),
        evaluation=report(
            f"{DETECTOR_DIR}/evaluation.csv",
            caption="../report/detector_evaluation.rst",
            category="Detector",
            labels={"table": "held-out evaluation"},
        ),
        evaluation_md=f"{DETECTOR_DIR}/evaluation.md",
    log:
        "logs/detector/train.log",
    benchmark:
        "results/benchmarks/detector/train.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: config["detector"]["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=detector_settings(),
        device=config["detector"]["device"],
    script:
        "../scripts/detector_train.py"


rule detect_resnet:
    input:
        unpack(set_inputs),
        weights=detector_weights(),
    output:
        focus_map="results/{dataset}/{set}/maps/resnet.png",
    log:
        "logs/focus/{dataset}/{set}/resnet.log",
    benchmark:
        "results/benchmarks/focus/{dataset}/{set}/resnet.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        set_dir=lambda wc: set_dir(wc.dataset, wc.set),
        device=config["detector"]["device"],
        tile=config["detector"]["tile"],
        weights_sha256=detector_weights_sha256(),
    script:
        "../scripts/detector_map.py"


rule fuse_ms_resnet:
    input:
        unpack(set_inputs),
        weights=detector_weights(),
    output:
        fused="results/{dataset}/{set}/mffssim_{variant}-resnet/fused.png",
        focus_map="results/{dataset}/{set}/mffssim_{variant}-resnet/focus_map.png",
        trace="results/{dataset}/{set}/mffssim_{variant}-resnet/trace.csv",
        fusion="results/{dataset}/{set}/mffssim_{variant}-resnet/fusion.json",
        steps=directory("results/{dataset}/{set}/mffssim_{variant}-resnet/steps"),
    log:
        "logs/fusion/{dataset}/{set}/mffssim_{variant}-resnet.log",
    benchmark:
        "results/benchmarks/fusion/{dataset}/{set}/mffssim_{variant}-resnet.tsv"
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
        detector_device=config["detector"]["device"],
        tile=config["detector"]["tile"],
        weights_sha256=detector_weights_sha256(),
    script:
        "../scripts/detector_fuse.py"


# target `detector` (config/detector.yaml): the trained weights as the package ships them (float32), with
# their record (training config, data checksums, code version, held-out figures) beside them
rule export_detector:
    input:
        detector_training_data,
        weights=rules.train_detector.output.weights,
        evaluation=rules.train_detector.output.evaluation,
    output:
        weights=f"{DETECTOR_DIR}/shipped/focusnet.pt",
        record=f"{DETECTOR_DIR}/shipped/focusnet.json",
    log:
        "logs/detector/export.log",
    benchmark:
        "results/benchmarks/detector/export.tsv"
    conda:
        "../envs/mffssim.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=detector_settings(),
        roots=lambda wc: {s: f"{DATA}/{s}" for s in detector_sources() if s in DETECTOR_DOWNLOADS},
    script:
        "../scripts/detector_export.py"


rule detector:
    input:
        rules.export_detector.output,
