"""Tweet generation from the Locust input file (standard library only, so it is unit-testable
without Locust installed).

The input file (schema ``tweetsdelclima.locust-input/v1``, see proyecto3/docs/delivery.md)::

    {
      "schema": "tweetsdelclima.locust-input/v1",
      "municipalities": {
        "<municipality>": {
          "weight": <int > 0>,                                   # how often it reports
          "weathers": {"sunny": w, "cloudy": w, "rainy": w, "foggy": w},   # each w > 0
          "temperature": {"min": int, "max": int},               # inclusive, within [-50, 60] °C
          "humidity": {"min": int, "max": int}                   # inclusive, within [0, 100] %
        }, ...                                                   # all four municipalities
      }
    }

Every municipality and every weather must be present with a positive weight, so a run
exercises all four of each (the dashboard shows every bar).
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from dataclasses import dataclass
from typing import Any

SCHEMA = "tweetsdelclima.locust-input/v1"
MUNICIPALITIES = ("mixco", "guatemala", "amatitlan", "chinautla")  # the proto's enum order
WEATHERS = ("sunny", "cloudy", "rainy", "foggy")
TEMPERATURE_BOUNDS = (-50, 60)
HUMIDITY_BOUNDS = (0, 100)


class InputError(ValueError):
    """The input file does not follow the schema."""


@dataclass(frozen=True)
class _Municipality:
    name: str
    weathers: tuple[str, ...]
    weather_cum: tuple[float, ...]
    temperature: tuple[int, int]
    humidity: tuple[int, int]


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: want an integer, got {value!r}")
    return value


def _weight(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InputError(f"{where}: want a positive number, got {value!r}")
    return float(value)


def _range(obj: Any, where: str, bounds: tuple[int, int]) -> tuple[int, int]:
    if not isinstance(obj, dict) or set(obj) != {"min", "max"}:
        raise InputError(f"{where}: want {{\"min\": int, \"max\": int}}, got {obj!r}")
    lo, hi = _int(obj["min"], where + ".min"), _int(obj["max"], where + ".max")
    if lo > hi:
        raise InputError(f"{where}: min {lo} > max {hi}")
    if lo < bounds[0] or hi > bounds[1]:
        raise InputError(f"{where}: [{lo}, {hi}] outside the accepted [{bounds[0]}, {bounds[1]}]")
    return lo, hi


class Distribution:
    """A validated input file; ``sample(rng)`` draws one tweet body."""

    def __init__(self, doc: Any):
        if not isinstance(doc, dict):
            raise InputError("top level: want an object")
        if doc.get("schema") != SCHEMA:
            raise InputError(f"schema: want {SCHEMA!r}, got {doc.get('schema')!r}")
        munis = doc.get("municipalities")
        if not isinstance(munis, dict):
            raise InputError("municipalities: want an object")
        if set(munis) != set(MUNICIPALITIES):
            raise InputError(f"municipalities: want exactly {sorted(MUNICIPALITIES)}, got {sorted(munis)}")
        entries, weights = [], []
        for name in MUNICIPALITIES:
            m, where = munis[name], f"municipalities.{name}"
            if not isinstance(m, dict):
                raise InputError(f"{where}: want an object")
            unknown = set(m) - {"weight", "weathers", "temperature", "humidity"}
            if unknown:
                raise InputError(f"{where}: unknown keys {sorted(unknown)}")
            weights.append(_weight(m.get("weight"), where + ".weight"))
            ws = m.get("weathers")
            if not isinstance(ws, dict) or set(ws) != set(WEATHERS):
                raise InputError(f"{where}.weathers: want exactly {sorted(WEATHERS)}")
            wweights = [_weight(ws[w], f"{where}.weathers.{w}") for w in WEATHERS]
            entries.append(_Municipality(
                name=name,
                weathers=WEATHERS,
                weather_cum=tuple(itertools.accumulate(wweights)),
                temperature=_range(m.get("temperature"), where + ".temperature", TEMPERATURE_BOUNDS),
                humidity=_range(m.get("humidity"), where + ".humidity", HUMIDITY_BOUNDS),
            ))
        self._munis = tuple(entries)
        self._muni_cum = tuple(itertools.accumulate(weights))

    @classmethod
    def load(cls, path: str) -> "Distribution":
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON: {e}") from e
        return cls(doc)

    @staticmethod
    def _pick(cum: tuple[float, ...], rng: random.Random) -> int:
        return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One body for POST /tweets, exactly the statement's four fields."""
        m = self._munis[self._pick(self._muni_cum, rng)]
        return {
            "municipality": m.name,
            "temperature": rng.randint(*m.temperature),
            "humidity": rng.randint(*m.humidity),
            "weather": m.weathers[self._pick(m.weather_cum, rng)],
        }

