"""The context model's inputs and its pass over a scene's coarse cells (models/context.py describes the model)."""

from __future__ import annotations

import numpy as np

from ..hooks import RunHooks, as_hooks
from ..imaging.coarse import CoarseCells

# Every channel is relative to the scene: SAR products come calibrated to sigma0, in DN, or in a processor's own
# scale (the real test chip reads about +35 dB), so an absolute dB level would be read as land everywhere.
SCENE_DB_SPAN = 10.0  # dB relative to the scene's median, in units of this: contrast in dB is kept
TEXTURE_SPAN_DB = 3.0
MIN_VALID_SHARE = 0.5  # a cell with less valid data is no data
WINDOW_MARGIN_CELLS = 32  # context each window adds around the part kept (1.3 km at 40 m)
CHANNEL_COUNT = 7


class ContextInputs:
    """The context model's inputs of a scene, made window by window from its coarse cells and scene-wide figures:
    a whole large scene's seven channels would be the largest array of the run (0.7 GB at 400 Mpx, 10 m).
    Channels in models.context.CHANNELS order; no-data cells are 0 in every channel."""

    def __init__(self, cells: CoarseCells, second: CoarseCells | None = None):
        self.cells, self.second = cells, second
        usable = self._usable(cells.valid, cells.intensity_db)
        texture = (cells.intensity_db - cells.mean_db)[usable]
        self.texture_median = float(np.median(texture)) if texture.size else 0.0
        self.relative = self._relative_figures(cells.intensity_db[usable])
        if second is not None:
            self.second_relative = self._relative_figures(second.intensity_db[usable & np.isfinite(
                second.intensity_db)])
        self.shape = (CHANNEL_COUNT, *cells.shape)

    @staticmethod
    def _usable(valid: np.ndarray, intensity_db: np.ndarray) -> np.ndarray:
        return (valid >= MIN_VALID_SHARE) & np.isfinite(intensity_db)

    @staticmethod
    def _relative_figures(values: np.ndarray) -> tuple[float, float] | None:
        """The scene's median dB and its 2nd..98th percentile span (at least 1 dB); None without values."""
        if values.size < 2:
            return None
        low, middle, high = np.percentile(values, [2, 50, 98])
        return float(middle), max(float(high - low), 1.0)

    @staticmethod
    def _relative(intensity_db: np.ndarray, figures: tuple[float, float] | None) -> list[np.ndarray]:
        """dB relative to the scene's median: in SCENE_DB_SPAN units, and over the percentile span."""
        if figures is None:
            return [np.zeros_like(intensity_db)] * 2
        middle, span = figures
        return [(intensity_db - middle) / SCENE_DB_SPAN, (intensity_db - middle) / span]

    def window(self, rows: slice, cols: slice) -> np.ndarray:
        cells = self.cells
        intensity_db, valid = cells.intensity_db[rows, cols], cells.valid[rows, cols]
        texture = (intensity_db - cells.mean_db[rows, cols] - self.texture_median) / TEXTURE_SPAN_DB
        channels = [*self._relative(intensity_db, self.relative), texture, valid]
        if self.second is not None:
            channels += [*self._relative(self.second.intensity_db[rows, cols], self.second_relative),
                         np.ones_like(valid)]
        else:
            channels += [np.zeros_like(valid)] * 3
        stacked = np.stack(channels).astype(np.float32)
        stacked[:, ~self._usable(valid, intensity_db)] = 0.0
        return np.nan_to_num(stacked, nan=0.0, posinf=0.0, neginf=0.0)

    def full(self) -> np.ndarray:
        return self.window(slice(None), slice(None))


def context_inputs(cells: CoarseCells, second: CoarseCells | None = None) -> np.ndarray:
    """The whole scene's inputs as one (7, rows, cols) float32 array (training, tests; small scenes)."""
    return ContextInputs(cells, second).full()


def land_probability(network, inputs: ContextInputs | np.ndarray, tile: int, multiple: int, device: str = "cpu",
                     hooks: RunHooks | None = None, flips: bool = False) -> np.ndarray:
    """P(land) per coarse cell: the network over windows of `tile` cells overlapping by a quarter, each window's
    centre kept (a fully convolutional network sees less context at a window's edge). Padded to `multiple`.
    `flips`: the mean logit over the window and its mirror images (four passes). The network is moved to
    `device`."""
    import torch

    hooks = as_hooks(hooks)
    _channels, rows, cols = inputs.shape
    margin = min(WINDOW_MARGIN_CELLS, tile // 8)
    step = tile - 2 * margin
    if rows <= tile and cols <= tile:  # one window: the whole scene at once
        step, margin = max(rows, cols), 0
    network = network.to(device, memory_format=torch.channels_last)
    out = np.zeros((rows, cols), np.float32)
    starts = [(top, left) for top in range(0, rows, step) for left in range(0, cols, step)]
    with torch.inference_mode():
        for index, (top, left) in enumerate(starts):
            hooks.check_cancel()
            window_top, window_left = max(0, top - margin), max(0, left - margin)
            rows, cols = slice(window_top, top + step + margin), slice(window_left, left + step + margin)
            window = inputs.window(rows, cols) if isinstance(inputs, ContextInputs) else inputs[:, rows, cols]
            height, width = window.shape[1:]
            padded_height, padded_width = -(-height // multiple) * multiple, -(-width // multiple) * multiple
            batch = np.zeros((1, inputs.shape[0], padded_height, padded_width), np.float32)
            batch[0, :, :height, :width] = window
            if flips:  # the window and its three mirror images in one batch, their logits averaged back
                batch = np.concatenate([batch, batch[..., ::-1], batch[..., ::-1, :], batch[..., ::-1, ::-1]])
            # channels-last: the depthwise convolutions run about 1.5x faster so on the CPU (oneDNN)
            tensor = torch.from_numpy(np.ascontiguousarray(batch)).to(device).to(memory_format=torch.channels_last)
            logits = network(tensor).float().cpu().numpy()[:, 0]
            if flips:
                logits = np.stack([logits[0], logits[1][:, ::-1], logits[2][::-1], logits[3][::-1, ::-1]])
            probability = 1.0 / (1.0 + np.exp(-logits.mean(axis=0)[:height, :width]))
            inner = probability[top - window_top:top - window_top + step, left - window_left:left - window_left + step]
            out[top:top + inner.shape[0], left:left + inner.shape[1]] = inner
            hooks.progress(100.0 * (index + 1) / len(starts))
    return out
