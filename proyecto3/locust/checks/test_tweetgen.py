"""Unit tests of the input file and the sampling (standard library only)."""

import copy
import json
import os
import random
import sys
import unittest
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tweetgen  # noqa: E402

INPUT = os.path.join(os.path.dirname(HERE), "input", "weather-distribution.json")


class InputFile(unittest.TestCase):
    def setUp(self):
        with open(INPUT, encoding="utf-8") as f:
            self.doc = json.load(f)

    def test_published_file_is_valid(self):
        tweetgen.Distribution(self.doc)

    def test_samples_follow_the_contract_and_cover_everything(self):
        d = tweetgen.Distribution(self.doc)
        rng = random.Random(7)
        munis, weathers, pairs = Counter(), Counter(), set()
        for _ in range(20000):
            t = d.sample(rng)
            self.assertEqual(set(t), {"municipality", "temperature", "humidity", "weather"})
            m = self.doc["municipalities"][t["municipality"]]
            self.assertIsInstance(t["temperature"], int)
            self.assertIsInstance(t["humidity"], int)
            self.assertTrue(m["temperature"]["min"] <= t["temperature"] <= m["temperature"]["max"])
            self.assertTrue(m["humidity"]["min"] <= t["humidity"] <= m["humidity"]["max"])
            munis[t["municipality"]] += 1
            weathers[t["weather"]] += 1
            pairs.add((t["municipality"], t["weather"]))
        self.assertEqual(set(munis), set(tweetgen.MUNICIPALITIES))
        self.assertEqual(set(weathers), set(tweetgen.WEATHERS))
        self.assertEqual(len(pairs), 16, "every municipality reports every weather")
        # Frequencies follow the weights (30/30/20/20) within a generous tolerance.
        total_w = sum(m["weight"] for m in self.doc["municipalities"].values())
        for name, m in self.doc["municipalities"].items():
            self.assertAlmostEqual(munis[name] / 20000, m["weight"] / total_w, delta=0.02)

    def test_reproducible_with_a_seed(self):
        d = tweetgen.Distribution(self.doc)
        a = [d.sample(random.Random(1)) for _ in range(3)]
        b = [d.sample(random.Random(1)) for _ in range(3)]
        self.assertEqual(a, b)

    def test_rejects_bad_files(self):
        def bad(mutate):
            doc = copy.deepcopy(self.doc)
            mutate(doc)
            with self.assertRaises(tweetgen.InputError):
                tweetgen.Distribution(doc)

        bad(lambda d: d.update(schema="other"))
        bad(lambda d: d["municipalities"].pop("mixco"))
        bad(lambda d: d["municipalities"].update(villa_nueva=d["municipalities"]["mixco"]))
        bad(lambda d: d["municipalities"]["mixco"]["weathers"].pop("foggy"))
        bad(lambda d: d["municipalities"]["mixco"]["weathers"].update(foggy=0))
        bad(lambda d: d["municipalities"]["mixco"].update(weight=-1))
        bad(lambda d: d["municipalities"]["mixco"]["temperature"].update(max=61))
        bad(lambda d: d["municipalities"]["mixco"]["humidity"].update(min=-1))
        bad(lambda d: d["municipalities"]["mixco"]["humidity"].update(min=95, max=90))
        bad(lambda d: d["municipalities"]["mixco"]["temperature"].update(min=1.5))
        bad(lambda d: d["municipalities"]["mixco"].update(pressure=1))


if __name__ == "__main__":
    unittest.main()
