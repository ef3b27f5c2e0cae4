"""The federated catalogue of trusted participants (issue 7; ARCHITECTURE.md §1, ``gaiax.md`` §9).

A federation operator runs it with ``gxc catalog serve``. It admits a participant only when the participant's
verifiable presentation passes the full GXDCH compliance check (:mod:`self_descriptions.compliance`) against the
federation's trust anchors, keeps that true over time (versions, revocation, expiry, re-verification when anchors or
shapes change), and lets consumers discover datasets and offers (keyword/facet search, read-only SPARQL, a DSP
catalog of catalogs) across members and across federated catalogues.

Modules: ``settings`` (configuration), ``state`` (state folder and identity), ``admission`` (verification
pipeline), ``extract`` (datasets and policy features from credentials and DSP catalogs), ``store`` (SQL source of
truth, Alembic), ``search`` (keyword/facet index), ``graph`` and ``sparql`` (pyoxigraph in a guarded worker
process), ``service`` (the catalogue's operations), ``crawl`` (DSP catalogs of members), ``federation`` (signed
change feed between catalogues), ``report`` (auditor report), ``api`` (FastAPI app), ``cli`` (``gxc catalog``).
"""
