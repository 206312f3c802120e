"""A Keras model a submission returns, run by the kit's own code only.

A submission's process holds nothing the submission cannot change, the
functions that would run its model included, and it can write to its channel
whatever it likes. So it never runs the model for the check: it sends the
model's architecture (``model.to_json()``, under ``"keras_model"``), and a
process of the grader's own, forked from the server that only imported
TensorFlow and never running any submission's code, rebuilds it from that
description and runs it on the check's probe (:func:`run_configs`). Only
that process makes a model's run (``"model"``); one sent by a submission is a
forgery (`mlpkit.grading.calls.check_outcome` refuses it).

The description is hostile data too: before anything is built, every object
in it must be one of Keras's own layers, initializers, regularizers,
constraints or models (:func:`check_config`), none that runs code of its own
(``Lambda``), and Keras rebuilds it in its safe mode. Its memory is bounded
(``RLIMIT_AS``) in the disposable process that runs it.
"""

import json

import numpy as np

from mlpkit.grading import calls

KERAS_MODULES = ("keras", "keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints",
                 "keras.models", "keras.activations", "keras.optimizers", "keras.losses", "keras.metrics")
# Objects a functional model's description holds outside Keras's public modules: the model itself and the
# tensors that wire its layers together (data, never code).
INTERNAL = {("keras.src.models.functional", "Functional"), (None, "__keras_tensor__")}
REFUSED = ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer")
MAX_CONFIG = 1 << 20  # characters of a model's description
MAX_OBJECTS = 2_000  # objects in it
MEMORY = 4 * 2**30  # bytes of address space the rebuilt model may add


class ConfigError(ValueError):
    """A model's description that the grader will not build; the message says why."""


def check_config(config):
    """``ConfigError`` unless ``config`` (JSON text) describes a model made only of Keras's own objects."""
    if not isinstance(config, str) or len(config) > MAX_CONFIG:
        raise ConfigError("the model's description is not text of a reasonable size")
    try:
        tree = json.loads(config)
    except (ValueError, RecursionError):
        raise ConfigError("the model's description is not JSON") from None
    stack, seen = [tree], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_OBJECTS:
            raise ConfigError("the model's description is far larger than any model of the exercises")
        if isinstance(node, dict):
            if "class_name" in node:
                module, name = node.get("module"), node.get("class_name")
                registered = node.get("registered_name")
                known = module in KERAS_MODULES or (module, name) in INTERNAL
                if not known or name in REFUSED or registered not in (None, name):
                    raise ConfigError(f"the model holds {name!r} ({module}), not one of Keras's own layers")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def run_model(model, probe):
    """What a Keras model does with the probe's weights on the probe's inputs (in the submission's process).

    The weights come from ``default_rng(probe["seed"])``, in the order of
    ``model.get_weights()``: kernels normal with standard deviation
    ``1 / sqrt(fan_in)``, biases normal with standard deviation 0.1. Then
    ``probe["examples"]`` images, uniform in [0, 1) with shape
    ``probe["input_shape"]``, give the outputs in inference mode and, over
    ``probe["passes"]`` passes in training mode (dropout active), each
    output's mean and standard deviation.
    """
    rng = np.random.default_rng(probe["seed"])
    weights = [np.asarray(w) for w in model.get_weights()]
    model.set_weights(
        [
            (
                rng.normal(0.0, 1.0 / np.sqrt(w.shape[0]), w.shape) if w.ndim >= 2 else rng.normal(0.0, 0.1, w.shape)
            ).astype(w.dtype)
            for w in weights
        ]
    )
    x = rng.uniform(0.0, 1.0, (probe["examples"], *probe["input_shape"])).astype(np.float32)
    inference = np.asarray(model(x, training=False), dtype=np.float64)
    out = {"inference": inference}
    passes = probe.get("passes", 0)
    if passes:
        chunk = min(passes, 250)  # passes per call: one batch of chunk copies of the images
        batch = np.concatenate([x] * chunk)
        total, squares, done = np.zeros(inference.shape), np.zeros(inference.shape), 0
        while done < passes:
            outputs = np.asarray(model(batch, training=True), dtype=np.float64).reshape(chunk, *inference.shape)
            total, squares, done = total + outputs.sum(axis=0), squares + (outputs**2).sum(axis=0), done + chunk
        mean = total / done
        out.update(training_mean=mean, training_std=np.sqrt(np.maximum(squares / done - mean**2, 0.0)))
    return out


def _run_one(config, probe):
    import keras

    check_config(config)
    model = keras.models.model_from_json(config)  # safe mode: no Python code from the description runs
    description = {
        "parameters": int(model.count_params()),
        "layers": [type(layer).__name__ for layer in model.layers],
        "dropout": [float(layer.rate) for layer in model.layers if hasattr(layer, "rate")],
    }
    try:
        description.update(run_model(model, probe))
    except Exception as error:  # the model's own failure, reported as the submission's
        text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        description["probe_error"] = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return {"model": calls.encode(description)}


def run_configs(items, limit_memory=True):
    """In a grading worker of its own: ``[(config, probe), ...]`` rebuilt and run; per item ``{"value": run}`` or
    ``{"error": why}``. ``limit_memory``: bound this process's address space first (it is disposable)."""
    if limit_memory:
        import os
        import resource

        with open("/proc/self/statm") as statm:
            virtual = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (virtual + MEMORY, virtual + MEMORY))
    out = []
    for config, probe in items:
        try:
            out.append({"value": _run_one(config, probe)})
        except ConfigError as error:
            out.append({"error": f"ConfigError: {error}"})
        except MemoryError:
            out.append({"error": "MemoryError: the model needs more memory than any model of the exercises"})
        except Exception as error:
            out.append({"error": f"{type(error).__name__}: the model could not be rebuilt from its description"})
    return out
