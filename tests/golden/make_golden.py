"""Write the golden run that the bit-identity tests compare against.

    .venv/bin/python tests/golden/make_golden.py

A small network (the small preset's parameters, stored in full in the file so that a later
change of the preset does not change the run), seed 7, 400 steps cut into uneven chunks, with
commands of every kind applied between chunks: live parameter changes, objects added, moved and
removed, a recorded path driving the rat for a while, the rate maps reset. It writes
``session_small.npz``: the parameters (TOML), the seed, the command schedule (JSON), the chunk
lengths, every spike of every layer, the per-step samples and a digest of every array of the
final state, and the machine it ran on (CPU and library versions: ``fastmath`` kernels round
differently on CPUs with other vector units, so the stored spikes hold for that machine's kind).

Regenerate it only for a deliberate change of the model's arithmetic; the tests exist to
show that everything else leaves the spikes untouched. ``--this-machine`` replays the stored
run on this machine and writes ``session_small.<cpu>.npz`` beside it, for the tests on CPUs of
that kind.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 7
#: Chunk lengths (uneven, so that chunk boundaries do not line up with anything).
CHUNKS = (37, 50, 63, 20, 80, 41, 59, 50)
#: (step, command) in the simulator's wire format; each step is a chunk boundary.
SCHEDULE: list[tuple[int, dict[str, Any]]] = [
    (37, {"op": "set", "patch": {"learning.g_ca3_dg": 0.5}}),
    (87, {"op": "add_object", "x": 0.2, "y": -0.1}),
    (150, {"op": "set", "patch": {"inputs.context_morph": 1.0, "learning.g_ec_ca1": 1.5}}),
    (150, {"op": "move_object", "id": 0, "x": -0.25, "y": 0.3}),
    (170, {"op": "set_trajectory", "xy": [[0.1 + 0.002 * i, -0.05 + 0.001 * i]
                                          for i in range(30)]}),
    (250, {"op": "remove_object", "id": 0}),
    (291, {"op": "reset_ratemaps"}),
    (350, {"op": "set", "patch": {"theta.depth": 0.5, "learning.lr_ca1": 0.001}}),
]


def state_digest(state: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of every numeric array of ``Simulator.state_dict()`` (the parameters and the
    command log, stored as text, are compared on their own)."""
    out = {}
    for k, v in state.items():
        a = np.asarray(v)
        if a.dtype.kind in "biuf":
            out[k] = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
    return out


def machine() -> dict[str, str]:
    """What decides the kernels' floating-point rounding besides the code: the CPU LLVM compiles
    for (its vector units set how ``fastmath`` reductions are grouped) and the library versions.
    Runs on machines that agree here agree bit for bit."""
    import llvmlite
    import llvmlite.binding as llvm
    import numba

    return {"cpu_name": str(llvm.get_host_cpu_name()),
            "cpu_features": str(llvm.get_host_cpu_features().flatten()),
            "numba": numba.__version__, "llvmlite": llvmlite.__version__,
            "numpy": np.__version__}


def run_golden(params_toml: str, seed: int, schedule: list[tuple[int, dict[str, Any]]],
               chunks: tuple[int, ...] | list[int]) -> dict[str, Any]:
    """The golden run on this machine: the simulator driven by hand, the schedule's commands
    applied at chunk boundaries; returns what ``session_small.npz`` stores."""
    from hippoviz import params as P
    from hippoviz.sim import LAYERS, build

    params = P.loads(params_toml)
    sim = build(params, seed)
    done = []
    i_cmd = 0
    for n in chunks:
        while i_cmd < len(schedule) and schedule[i_cmd][0] == sim.step:
            sim.command(schedule[i_cmd][1])
            i_cmd += 1
        done.append(sim.run_chunk(int(n)))
    assert i_cmd == len(schedule), "a command of the schedule fell inside a chunk"
    out: dict[str, Any] = {
        "params_toml": np.array(params_toml),
        "seed": np.array(seed),
        "schedule": np.array(json.dumps(schedule)),
        "chunks": np.array(chunks, np.int64),
        "state_sha256": np.array(json.dumps(state_digest(sim.state_dict()))),
        "machine": np.array(json.dumps(machine())),
    }
    for name in ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch",
                 "active_fraction"):
        out[f"sample.{name}"] = np.concatenate([getattr(c, name) for c in done])
    for L in LAYERS:
        out[f"spikes.{L}.times_s"] = np.concatenate([c.spikes[L].times_s for c in done])
        out[f"spikes.{L}.units"] = np.concatenate([c.spikes[L].units for c in done])
    return out


def stored_for(cpu_name: str) -> Path:
    """The golden run written on a CPU of this name (``session_small.npz`` is the first one,
    its parameters and commands those of the run first recorded before the runtime was
    restructured, its spikes recorded again on an AMD znver4 with hippoviz 0.6's tiled EC -> DG
    product)."""
    return HERE / f"session_small.{cpu_name}.npz"


def main() -> int:
    """Write ``session_small.npz``; with ``--this-machine``, replay that file's run here and
    write it as ``session_small.<cpu>.npz``, so that the bit-identity tests hold on this kind
    of CPU too (run it with the code whose arithmetic is to be kept)."""
    from hippoviz import params as P
    from hippoviz.sim import LAYERS

    if "--this-machine" in sys.argv[1:]:
        with np.load(HERE / "session_small.npz", allow_pickle=False) as z:
            first = {k: z[k] for k in z.files}
        schedule = [(int(s), dict(c)) for s, c in json.loads(str(first["schedule"]))]
        out = run_golden(str(first["params_toml"]), int(first["seed"]), schedule,
                         [int(n) for n in first["chunks"]])
        path = stored_for(machine()["cpu_name"])
    else:
        out = run_golden(P.dumps(P.load_preset("small"), comments=False), SEED, SCHEDULE, CHUNKS)
        path = HERE / "session_small.npz"
    np.savez_compressed(path, **out)
    n_spikes = sum(out[f"spikes.{L}.units"].size for L in LAYERS)
    print(f"{int(np.sum(CHUNKS))} steps, {n_spikes} spikes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
