"""What a lesson claims about training, as code the lesson and the slow test share.

GAN training is chaotic: the last bits of floating point (another CPU's vector width, another
XLA version, another number of models in a sweep) change which mode a seed lands on. So a
lesson never asserts what one seed did. Each :class:`Claim` is a recipe (``train``), a
measurement of one number per seed (``measure``), and a test of those numbers that must hold
for *every* seed (``holds``). The lesson asserts it on its few seeds (``Claim.seeds``);
``tests/test_claims.py`` asserts it on 16 seeds, in this process and in another one with
XLA flags that change the rounding, and requires every lesson seed and >= 90% of the 16 to
pass. ``python -m ganlab.lessons.claims`` prints the table (``tests/README.md`` lists it).

    outcome = claims.RING_REMEDY.evaluate()      # trains the lesson's seeds, measures, judges
    print(outcome)                               # "... holds for 4/4 seeds; modes 8 8 8 ..."
    assert outcome.all(), outcome
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

LESSON_SEEDS = (0, 1, 2, 3)


@dataclass(frozen=True)
class Claim:
    """A lesson's claim about a training recipe, true for every seed.

    ``train(seeds)`` trains one model per seed (usually all at once, as a sweep) and returns
    what the lesson shows; ``measure(trained)`` gives ``{name: [one value per seed]}``;
    ``holds(values)`` gives, per seed, whether the claim holds there.
    """

    name: str
    lesson: str  # "04", "playground", ...
    says: str  # the claim in words, as the lesson states it
    train: Callable[[Sequence[int]], object]
    measure: Callable[[object], dict[str, np.ndarray]]
    holds: Callable[[dict[str, np.ndarray]], np.ndarray]
    seeds: tuple[int, ...] = LESSON_SEEDS  # the seeds the lesson asserts on

    def judge(self, trained, seeds: Sequence[int] | None = None) -> Outcome:
        """The outcome of ``trained`` (what ``train(seeds)`` returned)."""
        seeds = tuple(self.seeds if seeds is None else seeds)
        values = {k: np.asarray(v, np.float64) for k, v in self.measure(trained).items()}
        for name, v in values.items():
            if v.shape != (len(seeds),):
                raise ValueError(f"{self.name}: {name} has shape {v.shape}, expected one value "
                                 f"per seed ({len(seeds)})")
        return Outcome(self, seeds, values, np.asarray(self.holds(values), bool))

    def evaluate(self, seeds: Sequence[int] | None = None, *, group: int | None = None
                 ) -> Outcome:
        """Train and judge ``seeds`` (default: the lesson's), ``group`` seeds at a time."""
        seeds = tuple(self.seeds if seeds is None else seeds)
        group = group or len(seeds)
        parts = [self.judge(self.train(seeds[i:i + group]), seeds[i:i + group])
                 for i in range(0, len(seeds), group)]
        values = {k: np.concatenate([p.values[k] for p in parts]) for k in parts[0].values}
        return Outcome(self, seeds, values, np.concatenate([p.passed for p in parts]))


@dataclass
class Outcome:
    """A claim's numbers on some seeds, and on which of them it held."""

    claim: Claim
    seeds: tuple[int, ...]
    values: dict[str, np.ndarray]
    passed: np.ndarray = field(repr=False)

    def all(self) -> bool:
        return bool(self.passed.all())

    @property
    def fraction(self) -> float:
        return float(self.passed.mean())

    def held_on(self, seeds: Sequence[int]) -> bool:
        """Whether it held on every one of ``seeds`` (which must be among these)."""
        index = [self.seeds.index(s) for s in seeds]
        return bool(self.passed[index].all())

    def spread(self) -> str:
        """``name min / median / max`` for each measured number."""
        return "; ".join(f"{k} {_fmt(v.min())} / {_fmt(np.median(v))} / {_fmt(v.max())}"
                         for k, v in self.values.items())

    def __str__(self) -> str:
        failed = [s for s, ok in zip(self.seeds, self.passed, strict=True) if not ok]
        tail = f" (not on seeds {failed})" if failed else ""
        return (f"{self.claim.lesson} {self.claim.name}: {self.claim.says}\n  holds for "
                f"{int(self.passed.sum())}/{len(self.seeds)} seeds{tail}; min / median / max: "
                f"{self.spread()}")

    def to_dict(self) -> dict:
        return {"name": self.claim.name, "seeds": list(self.seeds),
                "passed": self.passed.tolist(),
                "values": {k: v.tolist() for k, v in self.values.items()}}


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:.2e}"


def every() -> dict[str, Claim]:
    """All the lessons' training claims, by name."""
    from ganlab.lessons import claims_images, claims_toys, wasserstein

    return {**claims_toys.CLAIMS, **wasserstein.CLAIMS, **claims_images.CLAIMS}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ganlab.lessons.claims [--seeds 16] [--group 8] [--only NAME] [--json F]``:
    evaluate every claim and print its spread (the slow test runs this in a second process)."""
    parser = argparse.ArgumentParser(prog="python -m ganlab.lessons.claims")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--group", type=int, default=None, help="seeds per sweep")
    parser.add_argument("--only", nargs="*", default=None, help="claim names")
    parser.add_argument("--json", default=None, help="write the outcomes here")
    args = parser.parse_args(argv)
    claims = every()
    names = args.only or list(claims)
    unknown = set(names) - set(claims)
    if unknown:
        parser.error(f"unknown claims {sorted(unknown)}; claims are {list(claims)}")
    outcomes = {}
    for name in names:
        outcome = claims[name].evaluate(range(args.seeds), group=args.group)
        print(outcome, flush=True)
        outcomes[name] = outcome.to_dict()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(outcomes, f, indent=1)


if __name__ == "__main__":
    main()
