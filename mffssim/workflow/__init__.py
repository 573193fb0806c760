"""The workflow's own modules: tables (per data set, Table I), figures (panels, convergence curves) and the
experiments and ablation studies (``mffssim.workflow.experiments``).

They need the workflow's extra dependencies (``pip install -e ".[workflow]"``: pandas, matplotlib, ...)
and are kept out of the library's core: ``import mffssim`` and the engine, metrics and io modules never
import this package.
"""
