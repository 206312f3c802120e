"""What a study folder holds, and how each file in it is read and written.

``OUT/study.json`` describes the study (``Study.spec``: its configurations,
folds, seed, data set, images, and where its data came from and their
SHA-256). Whichever run, or part of a sharded run, comes first creates it
whole (``create_spec``); every later one compares it with its own
(``check_spec``) and stops, saying what differs, if the study differs.

``OUT/units/<unit>.json`` is one finished unit, ``study.run_unit``'s result,
written under a temporary name and renamed (``save_unit``), so a unit file is
whole or absent. ``read_units`` returns the finished units; a unit file that
is not a result of its unit is reported and left as it is.

``OUT/results.json`` and ``OUT/results.csv`` are the summary
(``write_results``), one row per configuration.

Two records tie the results to the data: ``data_source``, where
``load_data`` found them, compared without how it found them (``same_data``:
a download, a failed download, the Keras cache), and ``data_fingerprint``,
the SHA-256 of the data the units load. A study resumed on other data is
refused, not mixed.
"""

import csv
import io
import json
import pathlib
import re

from mlpkit.runs import outputs
from mlpkit.study_grids import StudyError

# How load_data found the data, which can change between runs of one study while the data stay the same
# (the first run, or one shard, downloads into the Keras cache; the next finds them there): left out when
# the data sources of a study and of its units are compared. What the data are is the fingerprint's to say.
_HOW_FOUND = re.compile(r" \((the Keras cache|downloaded through keras\.datasets|full MNIST not found; .*)\)$")
RESULT_COLUMNS = ["key", "layers", "lr", "epochs", "batch_size", "init", "folds", "accuracy_mean", "accuracy_std",
                  "loss_mean", "loss_std", "test_accuracy_mean", "wall_seconds"]


def same_data(source, other):
    """Whether two data sources reported by ``load_data`` name the same place (however the first run found the data)."""
    if source is None or other is None:
        return source is other
    return _HOW_FOUND.sub("", source) == _HOW_FOUND.sub("", other)


# --- study.json -----------------------------------------------------------------------

def create_spec(out, spec):
    """Create ``out/study.json`` from ``spec`` unless it exists (atomically); ``True`` if this call created it."""
    return outputs.create_once(pathlib.Path(out) / "study.json", json.dumps(spec, indent=2) + "\n")


def read_spec(out):
    """The study described by ``out/study.json``, or ``StudyError`` saying why there is none."""
    spec_path = pathlib.Path(out) / "study.json"
    try:
        existing = json.loads(spec_path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{out} holds no study (no study.json): run the study, or its shards, first") from None
    except ValueError:
        raise StudyError(f"{spec_path} is not valid JSON; mlpkit leaves it alone: "
                         "move it or choose another --out") from None
    if not isinstance(existing, dict):
        raise StudyError(f"{spec_path} is not a study description; mlpkit leaves it alone: "
                         "move it or choose another --out")
    return existing


def _same(existing, spec, key):
    if key == "data_fingerprint":  # a study.json written before fingerprints were recorded has none
        return existing.get(key) is None or spec[key] is None or existing[key] == spec[key]
    if key == "data_source":
        return same_data(existing.get(key), spec[key])
    return existing.get(key) == spec[key]


def _describe(existing, spec, key):
    if key == "configs":
        return "the configurations"
    if key == "data_fingerprint":
        return (f"the data (SHA-256 {existing[key][:12]}... there, from {existing.get('data_source')!r}; "
                f"{spec[key][:12]}... here, from {spec['data_source']!r})")
    return f"{key} {existing.get(key)!r} there, {spec[key]!r} here"


def check_spec(out, spec, ignore=()):
    """``out/study.json``'s study, or ``StudyError`` unless it is ``spec``'s (the keys in ``ignore`` aside)."""
    existing = read_spec(out)
    differing = [key for key in spec if key not in ignore and not _same(existing, spec, key)]
    if differing:
        detail = "; ".join(_describe(existing, spec, key) for key in differing)
        if {"data_source", "data_fingerprint"} & set(differing):
            detail += " (every run of a study, and every shard, needs the same data, e.g. the same --data-dir)"
        raise StudyError(
            f"{out} holds results of a different study ({existing.get('title') or 'untitled'}, "
            f"dataset {existing.get('dataset')}; differs in {detail}); choose another --out, "
            "or delete that folder to start over"
        )
    return existing


# --- the unit files ---------------------------------------------------------------------

def unit_path(out, name):
    return pathlib.Path(out) / "units" / f"{name}.json"


def save_unit(out, name, result):
    """Write the unit file of ``name``: under a temporary name of this process, then renamed (whole or absent)."""
    outputs.write_atomically(unit_path(out, name), json.dumps(result) + "\n")


def read_units(out, units, names=None, on_this_data=None):
    """The finished units in ``out/units`` among ``units`` (``{name: (config, fold)}``), or those of ``names``.

    Returns ``{name: result}``. A unit file whose configuration or fold is not
    its unit's, or whose data ``on_this_data(result)`` refuses, raises
    ``StudyError``.
    """
    results = {}
    for name, (config, fold) in units.items():
        path = unit_path(out, name)
        if (names is not None and name not in names) or not path.exists():
            continue
        try:
            result = json.loads(path.read_text())
            valid = result["config"] == config and result["fold"] == fold
            valid = valid and (on_this_data is None or on_this_data(result))
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise StudyError(f"{path} is not a result of this unit; mlpkit leaves it alone: delete it to redo the unit")
        results[name] = result
    return results


# --- the summary ------------------------------------------------------------------------

def write_results(out, report):
    """Write ``report`` (the study and its ``"results"`` rows) to ``out/results.json``, the rows to ``results.csv``."""
    out = pathlib.Path(out)
    outputs.write_atomically(out / "results.json", json.dumps(report, indent=2) + "\n")
    handle = io.StringIO(newline="")
    writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in report["results"]:
        writer.writerow({**row, "layers": "-".join(map(str, row["layers"]))})
    outputs.write_atomically(out / "results.csv", handle.getvalue())
