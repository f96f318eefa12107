"""Name the parameter most likely to blame when the simulation diverges (NaN or inf)."""

from __future__ import annotations

from typing import Any

from hippoviz import params as P

#: Forward weight matrix -> the learning rate that drives it.
_PATHWAY_LR = {
    "ec_dg": "learning.lr_dg",
    "dg_ca3": "learning.lr_ca3",
    "ca3_ca1": "learning.lr_ca1",
    "ec_ca1": "learning.lr_ca1",
    "ca1_out": "learning.lr_out",
    "ca3_ca3": "learning.lr_ca3_recurrent",
    "obj_ca1": "learning.lr_object_ca1",
}
_SUSPECTS = (
    "learning.lr_dg", "learning.lr_ca3", "learning.lr_ca1", "learning.lr_out",
    "learning.g_ec_ca1", "learning.g_ca1_ca3", "learning.g_ca3_dg",
    "inputs.gamma_mec", "inputs.gamma_border", "inputs.gamma_lec", "inputs.gamma_ta",
    "network.init_scale",
)


def _excess(key: str, value: Any) -> float:
    """How far ``value`` is above the default of ``key`` (ratio; 1 = at the default)."""
    default = P.spec(key).default
    if key == "learning.momentum":
        return (1.0 - float(default)) / max(1e-6, 1.0 - float(value))
    if not default:
        return 1.0 + float(value)
    return float(value) / float(default)


def likely_culprit(params: P.Params, bad_weights: list[str] | None = None) -> tuple[str, str]:
    """The parameter most likely to have made the loop diverge, and a one-line explanation.

    Parameters
    ----------
    params : Params
        Parameters in force when the divergence was detected.
    bad_weights : list of str, optional
        Names of weight matrices that hold non-finite values (``hippoviz.sim.WEIGHT_NAMES``).

    Returns
    -------
    key : str
        Dotted parameter key.
    reason : str
        Why it is suspected, with its value and default.
    """
    scores = {k: _excess(k, P.get(params, k)) for k in _SUSPECTS}
    scores["learning.momentum"] = _excess("learning.momentum", P.get(params, "learning.momentum"))
    for name in bad_weights or []:
        lr = _PATHWAY_LR.get(name)
        if lr is not None:
            base = scores.get(lr, _excess(lr, P.get(params, lr)))
            scores[lr] = base * 1.5 + 0.5
    key = max(scores, key=lambda k: scores[k])
    if scores[key] <= 1.0:
        # nothing raised above its default: blame the largest learning rate
        lrs = [k for k in _SUSPECTS if k.startswith("learning.lr_")]
        key = max(lrs, key=lambda k: float(P.get(params, k)))
    value = P.get(params, key)
    default = P.spec(key).default
    reason = f"{key} = {value:g} (default {default:g})"
    if bad_weights:
        reason += "; non-finite weights in " + ", ".join(bad_weights)
    return key, reason
