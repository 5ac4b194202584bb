"""Live sampling widgets: kernel-side time of one slider move, against the 50 ms goal.

A "move" is what a notebook kernel does when a slider changes: ``control.value = v`` runs the
app's ``redraw`` (one jit-compiled generator call for a grid of 64 samples, then the PNG). Cases,
timed in alternation round after round (the machine is shared, see ``timing.py``):

- ``generator``: the bare jitted ``G(z)`` on 64 fixed latents (the reference: the least a move
  can cost);
- ``explorer: seed`` / ``explorer: direction`` / ``explorer: truncation``: a latent-explorer
  slider move;
- ``interpolation: t``: a move of the interpolation app's ``t`` slider (12 images);
- ``class picker``: a new class in the conditional app (if that generator ships).

    .venv/bin/python bench/bench_sampling.py [--name mnist] [--rounds 7] [--moves 10]

Prints ms per move (median over rounds), the ratio to the bare generator measured in the same
rounds, and whether any move re-traced (compiled again).
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import jax
from timing import interleave, machine, ratios, table

from ganlab.core.pretrained import available, load_pretrained
from ganlab.ui.sampling_widgets import class_picker, interpolation, latent_explorer

GOAL_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="mnist", help="pretrained generator (default mnist)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--moves", type=int, default=10, help="slider moves per case per round")
    args = parser.parse_args()

    run = load_pretrained(args.name)
    params = run.gan.sampling_params(run.state)
    z = run.gan.latent(jax.random.key(0), 64)
    labels = (jax.numpy.arange(64) % run.config.n_classes) if run.config.n_classes else None
    explorer = latent_explorer(run, n=64)
    path = interpolation(run)
    counter = itertools.count(1)

    def moves(control, values):
        def case():
            for _ in range(args.moves):
                control.value = values[next(counter) % len(values)]
            return args.moves
        return case

    def bare():
        for _ in range(args.moves):
            run.gan.generate(params, z, labels).block_until_ready()
        return args.moves

    cases = {
        "generator (reference)": bare,
        "explorer: seed": moves(explorer.seed, list(range(1, 50))),
        "explorer: direction": moves(explorer.offsets[0], [-2.0, -1.0, 0.5, 1.5, 2.5]),
        "explorer: truncation": moves(explorer.truncation, [0.3, 0.5, 0.7, 0.9, 1.0]),
        "interpolation: t": moves(path.t, [0.1, 0.3, 0.5, 0.7, 0.9]),
    }
    if "mnist_conditional" in available():
        picker = class_picker("mnist_conditional", n=64)
        cases["class picker"] = moves(picker.label, list(range(10)))
    for case in cases.values():  # warm-up: compile everything once
        case()
    traces = explorer.grid.traces
    rates = interleave(cases, args.rounds)
    relative = ratios(rates, "generator (reference)")
    rows = []
    for name, values in rates.items():
        ms = 1000 / statistics.median(values)
        rows.append([name, f"{ms:.1f}", f"{1 / relative[name]:.2f}",
                     "yes" if ms < GOAL_MS else "NO"])
    print(f"{args.name}: 64-sample grid, {args.rounds} rounds x {args.moves} moves; {machine()}")
    print(table(["case", "ms per move", "x generator", f"< {GOAL_MS:.0f} ms"], rows))
    retraced = explorer.grid.traces - traces
    print(f"re-traced during the timed moves: {retraced} time(s) (should be 0)")


if __name__ == "__main__":
    main()
