"""The typed configuration of a run: what Extract, batch, the command lines and the Processing parameters fill
(core/pipeline/options.py maps its fields onto both), and what a method reads from its context."""

from __future__ import annotations

from dataclasses import dataclass, field

from .io.readers import ReadOptions
from .lines.sea import SEA_ONLY, SeaRule

# A name in core.methods.registry (a test checks it is there): the most accurate on bench-accuracy today,
# docs/benchmarks.md.
DEFAULT_METHOD = "classical"


@dataclass(frozen=True)
class ClassicalParams:
    despeckle_sigma_px: float | None = None  # Gaussian in dB; None: from the scene's looks (despeckle_sigma_for)
    # How far the despeckle follows the looks (despeckle_sigma_for's share): the full noise match drew the outlines
    # of low-contrast features (fronts, bright sea) so rough that the lines doubled (docs/benchmarks.md, session 13)
    looks_share: float = 0.5
    min_area_m2: float = 10_000.0     # islands and lakes smaller than this are speckle, not coast
    contour_band_db: float = 3.0      # dB around the threshold where the contour takes sub-pixel position


@dataclass(frozen=True)
class InferenceConfig:
    scales: tuple[int, ...] | None = None  # crop sides read and resized to the model side; None: the models'
    overlap: float = 0.5
    batch_size: int | None = None  # None: 64 on a GPU, 4 on the CPU
    device: str = "auto"
    precision: str = "auto"
    stride: int | None = None  # scene pixels per cell of the merged map; None: map_stride() of the crop sides
    smoothing_sigma: float = 1.0  # Gaussian on the merged map, in cells (the paper's filter)


@dataclass(frozen=True)
class ExtractConfig:
    method: str = DEFAULT_METHOD
    models: tuple[str, ...] = ()  # model files and/or ensemble manifests; empty: the bundled default
    band: int | None = None
    scale: str | None = None  # a core.scale SCALE choice; None: detected
    calibration_db: float | None = None  # amplitude DN calibration factor; None: the sensor's own (-83 dB PALSAR-2)
    polarisation: str | None = None  # products with several (Sentinel-1 SAFE); None: the clearer one
    output_crs: str = ""  # CRS of the lines (WKT or 'EPSG:n'); empty: the raster's own, or the local UTM zone
    min_length_m: float = 60.0
    nodata_margin_px: int = 2
    edge_snap_px: float = 4.0  # model methods: how far a line may move onto the image's water/land edge; 0: off
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    classical: ClassicalParams = field(default_factory=ClassicalParams)
    probabilities_path: str | None = None  # optional GeoTIFF of the fused maps
    water: str = SEA_ONLY  # SEA_ONLY: the sea's coast (islands kept, lakes and ponds left out); ALL_WATER: every shore
    sea: SeaRule = field(default_factory=SeaRule)
    reference_lines: tuple = ()  # optional lines (N, 2); lines farther than the distance are cut
    reference_crs_wkt: str = ""  # the reference lines' CRS; empty: the scene's
    reference_distance_m: float = 250.0

    def read_options(self) -> ReadOptions:
        return ReadOptions(band=self.band, calibration_db=self.calibration_db, scale=self.scale,
                           output_crs=self.output_crs, polarisation=self.polarisation)
