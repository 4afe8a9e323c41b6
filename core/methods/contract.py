"""The one contract every coastline method keeps: `run(context) -> lines`.

The context hands a method what a run has: the scene, the run's typed configuration, its hooks (progress,
cancel, log), a water map the method feeds (so the sea-only step and the land side work for it), and the
models' predictor, loaded on first use. Model inference (`methods.models.model_lines`) and the edge snap
(`MethodContext.snap_to_edge`) are helpers a method calls; nothing is applied to its lines from outside but
the sea-only step, and only when the method did not take it itself (`MethodContext.sea_step`).
See docs/extending.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..config import ExtractConfig
from ..errors import InputError
from ..hooks import RunHooks
from ..inference.loading import load_predictor, resolve_models
from ..io.scene import Scene
from ..lines.reference import near_reference
from ..lines.refine import snap_to_edge
from ..lines.sea import SEA_ONLY, WaterMap
from ..lines.vectorize import Coastline


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # shown in the Processing dialog
    help: str  # one sentence for the help text
    run: Callable[[MethodContext], list[Coastline]]
    uses_models: bool = False  # batch sizes its workers by this; MODELS is refused for a method without models
    # Whether its models are ensemble members (resolved from MODELS or the bundled manifest and loaded into one
    # predictor by the pipeline); False: the method finds and loads its own model (coarse to fine's context model).
    ensemble: bool = True
    # For a method that uses models: None when it can run these models' metadata, else why not (training's
    # validation takes the first registered method that accepts a model).
    accepts: Callable[[Sequence], str | None] = lambda _metas: None


@dataclass
class MethodContext:
    """What one run hands its method. `water` is None until the method asks for a map (`water_map`)."""

    scene: Scene
    config: ExtractConfig
    hooks: RunHooks
    loaded_predictor: object | None = None  # an EnsemblePredictor given by the caller (batch reuses one)
    members: Sequence | None = None  # the config's model files as resolve_models gives them, when already resolved
    water: WaterMap | None = None
    sea_step_taken: bool = field(default=False, init=False)

    def predictor(self):
        """The models of this run (the config's, else the bundled default), loaded on the first call."""
        if self.loaded_predictor is None:
            members = self.members if self.members is not None else resolve_models(self.config.models)
            if not members:
                raise InputError("No model was given and no bundled model is installed. Give MODELS, or choose "
                                 "the classical method.")
            self.loaded_predictor = load_predictor(members, self.config.inference, self.hooks)
        return self.loaded_predictor

    def water_map(self, stride: int) -> WaterMap:
        """The run's water map on cells of `stride` scene pixels, made on the first call; the method feeds it."""
        if self.water is None:
            self.water = WaterMap(self.scene, stride, self.config.sea)
        return self.water

    def sea_step(self, lines: list[Coastline]) -> list[Coastline]:
        """The sea-only step (when asked), the reference-coastline distance (when given), and land on the left.
        Taken once a run: the pipeline takes it after the method unless the method took it first."""
        self.sea_step_taken = True
        config, hooks = self.config, self.hooks
        water = self.water
        if water is None or not water.fed:
            hooks.warning("This run has no sea/land map (coast-only models, or a method that gives none): every "
                          "water boundary is kept and the lines' direction does not say which side is land.")
            return self.near_reference(lines)
        figures = water.decide()
        hooks.figures.update(figures)
        if config.water == SEA_ONLY:
            before = sum(line.length_m for line in lines)
            lines = water.sea_coast(lines, config.min_length_m)
            after = sum(line.length_m for line in lines)
            hooks.note(f"Sea only: {figures['inland_water_bodies']} inland water body(ies) and "
                       f"{figures['sea_patches_as_sea']} bright patch(es) of sea left out; {after / 1000:.2f} of "
                       f"{before / 1000:.2f} km of water boundary is sea coast (WATER 1 keeps every shore).")
        return water.land_on_left(self.near_reference(lines))

    def near_reference(self, lines: list[Coastline]) -> list[Coastline]:
        config = self.config
        if not config.reference_lines:
            return lines
        return near_reference(lines, config.reference_lines, config.reference_crs_wkt, self.scene.crs_wkt,
                              config.reference_distance_m, config.min_length_m)

    def snap_to_edge(self, lines: list[Coastline]) -> list[Coastline]:
        """Lines moved up to EDGE_SNAP pixels onto the image's own water/land edge. The snap needs land on the left,
        so the sea step is taken first; without a sea/land map, or with EDGE_SNAP 0, the lines stay."""
        if not self.sea_step_taken:
            lines = self.sea_step(lines)
        if self.config.edge_snap_px <= 0 or self.water is None or not self.water.fed:
            return lines
        return snap_to_edge(self.scene, lines, self.config.edge_snap_px, self.hooks)

