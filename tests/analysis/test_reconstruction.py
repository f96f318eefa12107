from __future__ import annotations

import numpy as np
import pytest

from hippoviz.analysis import reconstruction_error, relative_squared_error


def test_known_values_per_step_and_group() -> None:
    x = np.ones((3, 6))
    x_hat = np.array(
        [
            [1, 1, 1, 1, 1, 1],  # perfect
            [0, 0, 0, 0, 0, 0],  # nothing reconstructed
            [1, 1, 1, 1, 0, 0],  # the "lec" group lost
        ],
        dtype=np.float32,
    )
    groups = {"grid": slice(0, 3), "border": slice(3, 4), "lec": slice(4, 6)}
    err = reconstruction_error(x, x_hat, groups)
    np.testing.assert_allclose(err.total, [0.0, 1.0, 2 / 6])
    np.testing.assert_allclose(err.groups["grid"], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(err.groups["border"], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(err.groups["lec"], [0.0, 1.0, 1.0])
    assert list(err.groups) == ["grid", "border", "lec"]


def test_scaling_zero_input_and_shapes() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((100, 8))
    np.testing.assert_allclose(relative_squared_error(x, 0.5 * x), 0.25)
    assert relative_squared_error(x[0], x[0]) == 0.0
    z = relative_squared_error(np.zeros((2, 3)), np.ones((2, 3)))
    assert np.isnan(z).all()
    assert reconstruction_error(x, x).groups == {}
    with pytest.raises(ValueError, match="shape"):
        relative_squared_error(x, x[:, :4])
