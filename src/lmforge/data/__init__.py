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

First-cut steps (`filters.py`): `BoilerplateLineRemover` (line patterns in `boilerplate.py`),
`JunkFilter` (measurements in `textstats.py`), `ExactDedup`. Run them all with
`lmforge.data.curate.curate_basic(inputs, out)` or `lmforge data curate -i raw/ --out DIR`.
"""
