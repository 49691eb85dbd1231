"""Data curation: raw text in, documents kept or dropped with a reason out.

The contract every part follows:

- A `Document` (`document.py`) is `id`, `text`, `meta` and `drop`, a `DropReason`
  (step, rule, measured value, threshold) once some step rejects it.
- A step (`step.py`) has a `name` and a generator `run(docs, rank=0, world_size=1)` that yields
  every document it receives. It drops one by setting `doc.drop`, and passes already-dropped
  documents through untouched, so every input ends kept or dropped-with-reason, never lost.
  `rank`/`world_size` name the shard a worker is processing.
- Readers (`readers.py`) turn files into documents; a line that cannot be one becomes a
  `Quarantined` record (file, line, error, raw) instead of an exception.
- `curate.py` wires reader -> steps -> outputs and checks read = kept + dropped + quarantined.

Steps: `filters.py` (`BoilerplateLineRemover`, `JunkFilter`, `ExactDedup`), `pii.py`
(`PiiRedactor`), `quality.py` / `quality_web.py` (Gopher, C4, FineWeb, Korean filters),
`dedup.py` (`MinHashDedup`). `recipe.py` reads YAML recipes (`recipes/data/`);
`curate.curate(inputs, out, steps)` runs any list of steps, `curate_basic` the basic recipe.
CLI: `lmforge data curate [--recipe R]`, `lmforge data pii`, `lmforge data dedup`.
See docs/curation.md.
"""
