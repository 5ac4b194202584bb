"""The 2-D GAN playground: GAN Lab's live view as an ipywidgets app inside JupyterLab.

    from ganlab.ui.playground import Playground
    pg = Playground("ring")   # then display(pg) in a cell; press "Play"

What it shows (each layer can be switched off): real and generated samples, sigmoid(D) over
the plane ("real" green to "fake" purple), G's manifold (a latent grid carried through G), and
arrows ``-dL_G/dx`` (where the generator update pushes each generated point); beside it losses,
mean D(x) and D(G(z)) with the 0.5 line, grid KL / JS, modes covered and high-quality fraction.

The model of the run lives in :class:`ganlab.ui.session.Session`; this module adds the
widgets, a play loop (an asyncio task on the kernel's event loop that yields after every frame,
so controls stay live and pause acts within a frame) and synchronous twins of every button for
tests and benchmarks: ``play_frames(n)``, ``step()``, ``step_d()``, ``step_g()``, ``render()``.

Pretrained starts (``ganlab/weights/playground_<data>.npz``) are made by
``python -m ganlab.ui.playground_pretrain`` (the exact commands are in that module).
"""

from __future__ import annotations

import asyncio

import ipywidgets as w

from ganlab.core import doctor
from ganlab.core.config import LOSSES, OPTIMIZERS
from ganlab.ui.play_loop import PlayLoop
from ganlab.ui.plots import LAYERS, REAL, PlaygroundFigure
from ganlab.ui.session import Session

DATASETS = ("ring", "grid", "moons", "spiral", "line", "two_gaussians")
_LOSS_LABELS = {"wasserstein": "wasserstein + GP"}


class Playground(PlayLoop, w.VBox):
    """A live 2-D GAN you can play, pause, step, slow down, rewind, reconfigure and draw on.

    Args:
        data: a toy data set (``DATASETS``); its preset recipe is the starting point.
        seed: seeds parameters, noise and batches: the same seed replays the same run.
        steps_per_frame: training steps between two pictures while playing.
        k_d_max: ``None`` compiles for the k_d in use (cheapest step); ``5`` makes k_d 1..5
            live without recompiling, at the price of five unrolled D updates every step.
        draw_canvas: include the ipympl mouse canvas of the *Draw* tab (``add_points`` works
            either way).
    """

    def __init__(self, data: str = "ring", *, seed: int = 0, steps_per_frame: int = 20,
                 k_d_max: int | None = None, draw_canvas: bool = True):
        if data not in DATASETS:
            raise ValueError(f"data must be one of {list(DATASETS)} (got {data!r})")
        self.session = Session(data, seed=seed, k_d_max=k_d_max)
        self.task: asyncio.Task | None = None
        self.viewing: int | None = None  # index of the snapshot shown; None = live
        self.diagnosis = ""  # the training doctor's latest finding, on the status line
        self._doctor_at = 0  # the doctor looks once per doctor.WINDOW steps
        self.stage = None  # slow-motion sub-step on show
        self._syncing = False
        self.figure = PlaygroundFigure(self.session.bounds)
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="960px"))
        self.status = w.HTML()
        self._build_controls(steps_per_frame)
        self._build_draw(draw_canvas)
        super().__init__([self.status, self.image, self.tabs])
        self.redraw()

    # -- controls ---------------------------------------------------------------------------
    def _build_controls(self, steps_per_frame: int) -> None:
        cfg, btn = self.session.config, w.Button
        self.play_button = w.ToggleButton(False, description="Play", icon="play")
        self.reset_button = btn(description="Reset", icon="refresh")
        self.step_button = btn(description="Step", tooltip="one full update (k_d D, then G)")
        self.step_d_button = btn(description="D only", tooltip="one discriminator update")
        self.step_g_button = btn(description="G only", tooltip="one generator update")
        self.slow_button = btn(description="Slow-mo", icon="forward",
                               tooltip="walk through one update in 6 sub-steps")
        self.steps_per_frame = w.IntSlider(steps_per_frame, 1, 200, description="steps/frame")
        self.play_button.observe(lambda c: self.play() if c.new else self.pause(), "value")
        self.reset_button.on_click(lambda _: self._act(self.session.reset))
        self.step_button.on_click(lambda _: self.step())
        self.step_d_button.on_click(lambda _: self.step_d())
        self.step_g_button.on_click(lambda _: self.step_g())
        self.slow_button.on_click(lambda _: self.slow_step())
        # The browser test (tests/browser) presses these and expects a new picture.
        self.step_button.add_class("ganlab-redraws")
        self.play_button.add_class("ganlab-redraws")
        lr = dict(base=10, min=-5, max=-1, step=0.1, readout_format=".1e")
        self.knobs = {
            "lr_d": w.FloatLogSlider(cfg.lr_d, description="lr D", **lr),
            "lr_g": w.FloatLogSlider(cfg.lr_g, description="lr G", **lr),
            "k_d": w.IntSlider(cfg.k_d, 1, 5, description="D steps/G"),
            "r1": w.FloatSlider(cfg.r1, min=0, max=10, step=0.1, description="R1 gamma"),
            "gp": w.FloatSlider(cfg.gp, min=0, max=20, step=0.5, description="GP lambda"),
            "instance_noise": w.FloatSlider(cfg.instance_noise, min=0, max=0.5, step=0.01,
                                            description="inst. noise"),
            "loss": w.Dropdown(options=[(_LOSS_LABELS.get(k, k), k) for k in LOSSES],
                               value=cfg.loss, description="loss"),
            "optimizer": w.Dropdown(options=list(OPTIMIZERS), value=cfg.optimizer,
                                    description="optimizer"),
            "batch_size": w.Dropdown(options=[32, 64, 128, 256, 512], value=cfg.batch_size,
                                     description="batch"),
            "depth": w.IntSlider(cfg.depth, 1, 5, description="layers"),
            "width": w.Dropdown(options=[16, 32, 64, 128, 256], value=cfg.width,
                                description="units"),
            "latent_dim": w.ToggleButtons(options=[1, 2], value=cfg.latent_dim,
                                          description="latent dim"),
            "latent": w.Dropdown(options=["gaussian", "uniform"], value=cfg.latent,
                                 description="latent"),
            "data": w.Dropdown(options=[*DATASETS, "points"], value=self.session.data,
                               description="data"),
        }
        for name, widget in self.knobs.items():
            widget.observe(lambda c, name=name: self._configure(name, c.new), "value")
        self.layers = {k: w.Checkbox(True, description=k, indent=False) for k in LAYERS}
        for box in self.layers.values():
            box.observe(lambda _: self.redraw(), "value")
        self.history_slider = w.IntSlider(0, 0, 0, description="history", continuous_update=True)
        self.history_slider.observe(lambda c: self.scrub(c.new), "value")
        self.live_button = btn(description="Live", tooltip="back to the live run")
        self.live_button.on_click(lambda _: self.scrub(None))
        self.resume_button = btn(description="Resume from here")
        self.resume_button.on_click(lambda _: self.resume_here())
        self.path = w.Text("runs/playground", description="path")
        self.save_button, self.load_button = btn(description="Save"), btn(description="Load")
        self.save_button.on_click(lambda _: self._act(self.session.save, self.path.value))
        self.load_button.on_click(lambda _: self._act(self.session.load, self.path.value))
        self.pretrained_button = btn(description="Pretrained start")
        self.pretrained_button.on_click(lambda _: self._act(self.session.load_pretrained))
        row = w.HBox
        k = self.knobs
        self.tabs = w.Tab([
            w.VBox([row([self.play_button, self.reset_button, self.step_button,
                         self.step_d_button, self.step_g_button, self.slow_button]),
                    row([self.steps_per_frame, *self.layers.values()])]),
            w.VBox([row([k["lr_d"], k["lr_g"], k["k_d"]]), row([k["loss"], k["optimizer"],
                    k["batch_size"]]), row([k["r1"], k["gp"], k["instance_noise"]])]),
            w.VBox([row([k["depth"], k["width"]]), row([k["latent_dim"], k["latent"]])]),
            w.VBox([row([k["data"], self.pretrained_button])]),
            w.VBox([self.history_slider, row([self.live_button, self.resume_button])]),
            w.VBox([row([self.path, self.save_button, self.load_button])]),
        ])
        for i, title in enumerate(("Run", "Training", "Models", "Data", "History", "Save")):
            self.tabs.set_title(i, title)

    def _build_draw(self, draw_canvas: bool) -> None:
        """A mouse canvas (ipympl) to draw one's own distribution; ``add_points`` is its twin."""
        self.use_drawing = w.Button(description="Train on drawing")
        self.clear_drawing = w.Button(description="Clear drawing")
        self.use_drawing.on_click(lambda _: self._configure("data", "points"))
        self.clear_drawing.on_click(lambda _: self.clear_points())
        self.draw_canvas, self._pressed = None, False
        children = [w.HTML("Click or drag on the canvas to add points, then train on them.")]
        if draw_canvas:
            from ipympl.backend_nbagg import new_figure_manager_given_figure
            from matplotlib.figure import Figure

            fig = Figure(figsize=(3.5, 3.5), dpi=72)
            ax = self._draw_ax = fig.add_subplot()
            ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", title="your distribution")
            (self._draw_points,) = ax.plot([], [], ".", color=REAL)
            self.draw_canvas = new_figure_manager_given_figure(id(self), fig).canvas
            self.draw_canvas.header_visible = self.draw_canvas.toolbar_visible = False
            for event in ("button_press_event", "motion_notify_event", "button_release_event"):
                self.draw_canvas.mpl_connect(event, self.on_mouse)
            children.append(self.draw_canvas)
        children.append(w.HBox([self.use_drawing, self.clear_drawing]))
        self.tabs.children = (*self.tabs.children, w.VBox(children))
        self.tabs.set_title(len(self.tabs.children) - 1, "Draw")

    def on_mouse(self, event) -> None:
        """Mouse handler of the drawing canvas: press or drag adds the point under the cursor."""
        if event.name == "button_press_event":
            self._pressed = True
        elif event.name == "button_release_event":
            self._pressed = False
            return
        if self._pressed and event.xdata is not None and event.ydata is not None:
            self.add_points([(event.xdata, event.ydata)])

    def add_points(self, xy) -> int:
        """Add points ``[n, 2]`` to the drawing (what a click does); returns how many there are."""
        n = self.session.add_points(xy)
        if self.draw_canvas is not None:
            self._draw_points.set_data(*self.session.drawn.T)
            self.draw_canvas.draw_idle()
        self.status.value = f"{n} points drawn; press 'Train on drawing'"
        return n

    def clear_points(self) -> None:
        self.session.clear_points()
        if self.draw_canvas is not None:
            self._draw_points.set_data([], [])
            self.draw_canvas.draw_idle()

    # -- actions ----------------------------------------------------------------------------
    def _act(self, action, *args) -> str:
        """Run a session action that may rebuild; resync widgets, say what happened, redraw."""
        try:
            message = action(*args)
        except (ValueError, OSError) as error:
            message = f"<b>Error:</b> {error}"
        self.stage = None
        self._after_rebuild()
        self.redraw(message)
        return message

    def _configure(self, name: str, value) -> None:
        if self._syncing:
            return
        self._act(lambda: self.session.configure(**{name: value}))

    def _after_rebuild(self) -> None:
        """Bring every widget in line with the session's config (without triggering changes)."""
        cfg, self.viewing = self.session.config, None
        self._syncing = True
        try:
            for name, widget in self.knobs.items():
                widget.value = self.session.data if name == "data" else getattr(cfg, name)
        finally:
            self._syncing = False
        if self.figure.plane.get_xlim() != self.session.bounds[:2]:
            self.figure = PlaygroundFigure(self.session.bounds)
        self.figure.limits, self.figure.background = {}, None

    def step(self) -> None:
        """One full update (k_d D updates, one G update), then redraw."""
        self.session.train(1)
        self.stage = None
        self._frame_done()

    def step_d(self) -> dict:
        m = self.session.step_d()
        self.stage = None
        self._frame_done(f"D only: d_loss {m['d_loss']:.3f}, D(x) {m['d_real']:.3f}, "
                         f"D(G(z)) {m['d_fake']:.3f} (step counter unchanged)")
        return m

    def step_g(self) -> dict:
        m = self.session.step_g()
        self.stage = None
        self._frame_done(f"G only: g_loss {m['g_loss']:.3f}, D(G(z)) {m['d_fake_g']:.3f} "
                         "(step counter unchanged)")
        return m

    def slow_step(self) -> str:
        """Show the next slow-motion sub-step (the sixth applies the update); return its caption."""
        self.stage = self.session.slow_step()
        caption = self.stage.caption
        if self.stage.name == "update":
            self.stage = None
            self._frame_done(caption)
        else:
            self.redraw(caption)
        return caption

    def play_frames(self, n: int) -> None:
        """Train and draw ``n`` frames of ``steps_per_frame`` steps each (blocking)."""
        for _ in range(n):
            self.session.train(self.steps_per_frame.value)
            self._frame_done()

    def _frame_done(self, message: str = "") -> None:
        frame = self.session.record()
        self.viewing = None
        self._sync_history()
        self._check_health()
        self.redraw(message, frame)

    def _check_health(self) -> None:
        """Once every ``doctor.WINDOW`` steps, what the training doctor sees (D winning, mode
        collapse, oscillation) for the status line; nothing when all is well."""
        at = int(self.session.state.step) // doctor.WINDOW
        if at != self._doctor_at:
            self._doctor_at = at
            found = self.session.diagnose()
            self.diagnosis = found[0].message if found else ""

    def _sync_history(self) -> None:
        self._syncing = True
        try:
            top = len(self.session.snapshots) - 1
            self.history_slider.max = max(top, 0)
            self.history_slider.value = top if self.viewing is None else self.viewing
        finally:
            self._syncing = False

    def stopped(self, message: str) -> None:
        """Why playing stopped, on the picture's status line."""
        self.redraw(message)

    # -- history ----------------------------------------------------------------------------
    def scrub(self, index: int | None) -> None:
        """Show stored snapshot ``index`` (``None``: the live run); the live run is untouched."""
        if self._syncing:
            return
        top = len(self.session.snapshots) - 1
        self.viewing = None if index is None or index >= top else max(index, 0)
        self._sync_history()
        self.redraw()

    def resume_here(self) -> str:
        """Continue training from the snapshot on show (later history is dropped)."""
        if self.viewing is None:
            return "already live"
        message = self.session.resume_from(self.viewing)
        self._after_rebuild()  # the snapshot's recipe may differ from the one on show
        self._sync_history()
        self.redraw(message)
        return message

    # -- drawing ----------------------------------------------------------------------------
    def render(self) -> bytes:
        """The current picture as PNG bytes (also shown in the widget)."""
        return self.image.value

    def redraw(self, message: str = "", frame=None) -> None:
        """Update the figure's data (live run, or the snapshot on show) and the image."""
        s = self.session
        if self.viewing is not None:
            snap = s.snapshots[self.viewing]
            frame = s.frame(snap.state)
            history = {k: v[:snap.history_len] for k, v in s.history.items()}
            log = {k: v[:snap.log_len] for k, v in s.log.items()}
            message = message or f"viewing snapshot {self.viewing} (step {snap.step}); live " \
                                 f"run at step {int(s.state.step)}"
        else:
            frame = s.frame() if frame is None else frame
            history, log = s.history, s.log
        layers = [k for k, box in self.layers.items() if box.value]
        caption = self.stage.caption if self.stage is not None else ""
        self.figure.update(frame, history, log, layers=layers, stage=self.stage,
                           n_modes=len(s.toy.modes),
                           title=caption or f"{s.data}  step {frame.step}")
        self.image.value = self.figure.png()
        s.message = message or s.message
        modes = s.log["modes_covered"][-1] if s.log["modes_covered"] else 0
        live = self.diagnosis and self.viewing is None
        doctor_line = f" | <b>doctor:</b> {self.diagnosis}" if live else ""
        self.status.value = (f"<b>step {int(s.state.step)}</b> | modes {modes}/"
                             f"{len(s.toy.modes)} | {message or caption}{doctor_line}")
