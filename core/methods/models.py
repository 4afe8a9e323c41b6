"""Model inference as a helper a method calls: the context's models run over the scene tile by tile, the
method's streaming rule fed, lines in map coordinates out (with the models, confidence and uncertainty)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..config import ExtractConfig, InferenceConfig
from ..hooks import RunHooks
from ..inference.loading import model_sides
from ..inference.predict import COAST, LAND, VALID
from ..inference.stream import merged_channels, stream_probabilities, with_map_stride
from ..io.probabilities import ProbabilityWriter
from ..io.scene import Scene
from ..lines.sea import WaterMap
from ..lines.vectorize import Coastline, KeepMask, pieces_to_lines
from .contract import MethodContext


def model_lines(context: MethodContext, rule_factory: Callable) -> list[Coastline]:
    """The helper a model method calls: the context's models run over the scene tile by tile, their merged map
    fed strip by strip to the method's streaming rule and to the context's water map (when the models give
    sea/land), the rule's pieces turned into lines.

    `rule_factory(predictor, channels, grid_width, grid_height)` returns an object with `add(first_row, strip)`
    and `finish() -> list[Piece]` (pieces in map cells)."""
    scene, config, hooks = context.scene, context.config, context.hooks
    predictor = context.predictor()
    sides = model_sides(predictor.metas, scene.pixel_size, config.inference)
    trained = {meta.trained_pixel_sizes() for meta in predictor.metas} - {None}
    if not config.inference.scales and trained:
        ranges = ", ".join(f"{low:g}" if low == high else f"{low:g}-{high:g}" for low, high in sorted(trained))
        inside = all(low <= scene.pixel_size <= high for low, high in trained)
        hooks.note(f"The models were trained on {ranges} m pixels and this scene has {scene.pixel_size:g} m: "
                   + ("read at the models' own crop sides" if inside else "crop sides follow the ground resolution")
                   + f" ({', '.join(map(str, sides))} px).")
    inference = with_map_stride(config.inference, sides, predictor.model_side)
    water = context.water_map(inference.stride) if predictor.has_land else None
    return run_models(scene, config, inference, predictor, sides, hooks, rule_factory, water)


def run_models(scene: Scene, config: ExtractConfig, inference: InferenceConfig, predictor, sides: Sequence[int],
               hooks: RunHooks, rule_factory: Callable, water: WaterMap | None = None) -> list[Coastline]:
    """Tiled inference with a ready predictor, then the rule, then vector lines; `water` is fed the sea/land map
    for the sea-only step. `inference` has its map stride decided (`with_map_stride`)."""
    stride = inference.stride
    grid_width, grid_height = -(-scene.width // stride), -(-scene.height // stride)
    channels = merged_channels(predictor)
    rule = rule_factory(predictor, channels, grid_width, grid_height)
    hooks.note(f"Scales (crop sides) {list(sides)} px, overlap {inference.overlap:g}, map stride {stride} px.")

    keep_mask = KeepMask(config.nodata_margin_px, stride, grid_width, grid_height)
    writer = _probability_writer(config.probabilities_path, scene, stride, predictor, channels)
    try:
        for first, strip in stream_probabilities(scene, predictor, inference, sides,
                                                 lambda share: hooks.progress(2 + 88 * share), hooks.check_cancel,
                                                 hooks.figures):
            rule.add(first, strip)
            keep_mask.add(strip[channels[VALID]])
            if water is not None:
                valid = strip[channels[VALID]] > 0.5
                water.add(first, valid & (strip[channels[LAND]] < 0.5), valid)
            if writer is not None:
                writer.write(first, strip)
        hooks.check_cancel()
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    pieces = rule.finish()
    keep = [keep_mask.sample(piece.xy) for piece in pieces]
    cell_m = stride * scene.pixel_size
    names = ", ".join(Path(member.name).stem for member in predictor.members)
    lines = []
    for index, coords, kept in pieces_to_lines(pieces, keep, stride, scene.geotransform, config.min_length_m):
        piece = pieces[index]
        lines.append(Coastline(coords, {
            "models": names,
            "confidence": round(float(np.mean(piece.confidence[kept])), 3),
            "uncertainty_m": round(float(np.median(piece.spread[kept])) * cell_m, 2)}))
    return lines


def _probability_writer(path: str | None, scene: Scene, stride: int, predictor, channels):
    if not path:
        return None
    bands = {}
    if predictor.has_land:
        bands["land"] = channels[LAND]
    if predictor.has_coast:
        bands["coast"] = channels[COAST]
    return ProbabilityWriter(path, scene, stride, bands)
