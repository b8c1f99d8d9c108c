"""The forecast-error model of the stochastic variants (core/uncertainty.py)."""

import numpy as np
import pytest

from stagewise.core.uncertainty import ErrorModel, forecast_series

BASE = np.linspace(10.0, 40.0, 12)


def test_zero_variance_gives_the_published_series_exactly():
    model = ErrorModel(sigma=0.0, phi=0.9)
    x = model.draw(np.random.default_rng(0), 3, len(BASE))
    assert np.array_equal(model.realise(BASE, x), np.broadcast_to(BASE, (3, len(BASE))))
    forecast = model.forecast(BASE, x, np.array([0, 5, 12]))
    assert np.array_equal(forecast, np.broadcast_to(BASE, (3, len(BASE))))


def test_forecast_before_any_observation_is_the_published_series():
    model = ErrorModel(sigma=0.1, phi=0.8)
    x = model.draw(np.random.default_rng(1), 2, len(BASE))
    assert np.allclose(model.forecast(BASE, x, np.zeros(2, int)), BASE)


def test_forecast_keeps_observed_periods_and_ends_at_the_realisation():
    model = ErrorModel(sigma=0.1, phi=0.8)
    x = model.draw(np.random.default_rng(2), 2, len(BASE))
    realised = model.realise(BASE, x)
    known = np.array([4, 12])
    forecast = model.forecast(BASE, x, known)
    assert np.allclose(forecast[0, :4], realised[0, :4])
    assert not np.allclose(forecast[0, 4:], realised[0, 4:])
    assert np.allclose(forecast[1], realised[1])  # everything observed


def test_draws_are_mean_unbiased_and_forecast_errors_grow_with_lead():
    model = ErrorModel(sigma=0.1, phi=0.9)
    base = np.full(10, 5.0)
    x = model.draw(np.random.default_rng(3), 40_000, 10)
    realised = model.realise(base, x)
    assert np.allclose(realised.mean(axis=0), base, rtol=0.01)
    forecast = model.forecast(base, x, np.full(40_000, 3))
    # The forecast is the conditional mean: unbiased at every lead.
    assert np.allclose((realised - forecast)[:, 3:].mean(axis=0), 0.0, atol=0.02)
    log_error_std = np.log(realised / forecast)[:, 3:].std(axis=0)
    assert np.all(np.diff(log_error_std) > 0)
    expected = np.sqrt(model.variance(np.arange(1, 8)))
    assert np.allclose(log_error_std, expected, rtol=0.03)


def test_errors_are_correlated_in_time_and_per_element():
    model = ErrorModel(sigma=0.1, phi=0.9)
    x = model.draw(np.random.default_rng(4), 20_000, 30, (2,))
    assert x.shape == (20_000, 30, 2)
    lag1 = np.corrcoef(x[:, 20, 0], x[:, 21, 0])[0, 1]
    across = np.corrcoef(x[:, 20, 0], x[:, 20, 1])[0, 1]
    assert lag1 == pytest.approx(0.9, abs=0.02)
    assert abs(across) < 0.03


def test_forecast_with_element_axes():
    model = ErrorModel(sigma=0.1, phi=0.5)
    base = np.ones((6, 3))
    x = model.draw(np.random.default_rng(5), 2, 6, (3,))
    forecast = model.forecast(base, x, np.array([2, 0]))
    assert forecast.shape == (2, 6, 3)
    assert np.allclose(forecast[0, :2], model.realise(base, x)[0, :2])
    assert np.allclose(forecast[1], 1.0)


def test_forecast_series_reads_the_forecast_keys_of_a_state():
    state = {"t": 3, "demand_forecast": [1.0, 2.0], "price_forecast": [3.0], "stock": [1.0]}
    series = forecast_series(state)
    assert set(series) == {"demand", "price"}
    assert np.array_equal(series["demand"], [1.0, 2.0])
