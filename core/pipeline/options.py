"""The extraction options, once: each one's config field, type, command-line flag, Processing parameter, label,
help and whether it is advanced; its default is the dataclass's (core/config.py). Both command lines
(core/pipeline/cli.py, batch.py) and both Processing algorithms (ui/extract_algorithm.py, ui/batch_algorithm.py)
declare and read these from the table, so a new option is its config field and one row here.

Not in the table, declared by each adapter itself: what needs a QGIS type of its own or means something else per
adapter: the input raster(s), BAND (a band chooser in Extract), OUTPUT_CRS (a CRS chooser; batch reprojects every
scene to the first one's), MODELS (files), the REFERENCE layer, and the outputs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..config import ExtractConfig
from ..errors import InputError
from ..inference.predict import DEVICES, PRECISIONS
from ..io.scale import SCALE_LABELS, SCALES
from ..lines.sea import WATER_CHOICES
from ..methods import registry

INT, FLOAT, STR, ENUM, INTS = "int", "float", "str", "enum", "ints"  # INTS: whole numbers, e.g. crop sides

WATER_LABELS = {"sea": "Sea only: the sea's coast, islands included; lakes, ponds and rivers left out",
                "all": "Every water boundary (lake and river shores too)"}


@dataclass(frozen=True)
class Option:
    field: str  # an ExtractConfig field, or 'inference.<field>' for an InferenceConfig one
    kind: str  # INT, FLOAT, STR, ENUM or INTS
    flag: str  # on the command lines
    parameter: str  # the Processing parameter's name
    label: str  # the Processing parameter's description
    help: str  # one line: the Processing parameter's help, and the command lines' --help
    advanced: bool = False
    # ENUM: the config values in the Processing enum's order, and what the enum shows (None: the values). Callables:
    # the method registry can grow after this module is imported.
    choices: Callable[[], Sequence[str]] | None = None
    labels: Callable[[], Sequence[str]] | None = None
    unset: object = None  # what the user gives for the field's None (0: automatic batch size; 'auto': detected)
    minimum: float | None = None
    maximum: float | None = None
    batch: bool = True  # False: batch takes no such option

    @property
    def default(self):
        """The dataclass default, as the command lines and Processing show it (`unset` where it is None)."""
        value = ExtractConfig()
        for name in self.field.split("."):
            value = getattr(value, name)
        return self.unset if value is None else value

    @property
    def optional(self) -> bool:
        """Nothing to show by default: left empty, the field keeps None."""
        return self.default is None

    @property
    def dest(self) -> str:
        """The argparse attribute of the flag."""
        return self.flag.lstrip("-").replace("-", "_")

    def check(self, number):
        """The number, or InputError when it is out of the option's range."""
        if self.minimum is not None and number < self.minimum:
            raise InputError(f"{self.parameter} {number:g} is too small: it must be at least {self.minimum:g}.")
        if self.maximum is not None and number > self.maximum:
            raise InputError(f"{self.parameter} {number:g} is too large: it must be at most {self.maximum:g}.")
        return number

    def to_config(self, value):
        """A command-line or Processing value as the config field takes it: `unset`, empty text and no numbers
        become None; INTS come as text ('1024, 1280', from Processing) or a list of such texts (command line)."""
        if self.kind == INTS:
            return self._numbers(value)
        if isinstance(value, str):
            value = value.strip()
        return None if value == "" or (self.unset is not None and value == self.unset) else value

    def _numbers(self, value) -> tuple[int, ...] | None:
        text = value if value is None or isinstance(value, str) else ",".join(value)
        if not text or not text.strip():
            return None
        try:
            numbers = tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
        except ValueError:
            raise InputError(f"{self.parameter} '{text}' must be whole numbers separated by commas, e.g. "
                             "1024,1280,1536.") from None
        return tuple(self.check(number) for number in numbers) or None


def _methods() -> tuple[str, ...]:
    return registry.names()


def _method_labels() -> list[str]:
    return [method.label for method in registry.all_methods()]


# The order of the Processing dialog (the adapters put their own parameters in between, see add_options).
OPTIONS = (
    Option("polarisation", STR, "--polarisation", "POLARISATION", "Polarisation (Sentinel-1: VV, VH, HH, HV)",
           "For products with several polarisations; empty: the one that separates water from land better."),
    Option("scale", ENUM, "--scale", "SCALE", "Scale of the values",
           "What the values are: auto-detected (the log says why), amplitude DN, linear power, amplitude or dB.",
           choices=lambda: SCALES, labels=lambda: [SCALE_LABELS[scale] for scale in SCALES], unset=SCALES[0]),
    Option("calibration_db", FLOAT, "--calibration-db", "CALIBRATION_DB", "Calibration factor CF (dB, amplitude DN)",
           "sigma0 = 10 log10(DN^2) + CF; empty: the sensor's own (-83.0 dB for PALSAR-2).", advanced=True),
    Option("method", ENUM, "--method", "METHOD", "Method",
           "How the coastline is found: from the models' maps, or without a model. The default scores best on the "
           "accuracy benchmark today.", choices=_methods, labels=_method_labels),
    Option("inference.scales", INTS, "--scales", "SCALES", "Scales: crop sides in pixels, comma separated",
           "Empty: the scales the models were trained with, or those chosen for them at the scene's pixel size "
           "(recorded in the model file).", advanced=True, minimum=32),
    Option("inference.overlap", FLOAT, "--overlap", "OVERLAP", "Tile overlap (share)",
           "Share of each tile its neighbours overlap.", advanced=True, minimum=0.0, maximum=0.9),
    Option("inference.batch_size", INT, "--batch-size", "BATCH_SIZE", "Batch size (0 = automatic)",
           "Tiles per forward pass; halved automatically on GPU out-of-memory.", advanced=True, unset=0, minimum=0),
    Option("inference.device", ENUM, "--device", "DEVICE", "Device", "auto takes the GPU when torch sees one.",
           advanced=True, choices=lambda: DEVICES),
    Option("inference.precision", ENUM, "--precision", "PRECISION", "Precision",
           "auto: bf16/fp16 on a GPU, fp32 on a CPU.", advanced=True, choices=lambda: PRECISIONS),
    Option("inference.smoothing_sigma", FLOAT, "--smoothing", "SMOOTHING", "Smoothing sigma (map cells)",
           "Gaussian filter of the merged probability map (the paper's smoothing), in cells of 1 or 2 px (logged).",
           advanced=True, minimum=0.0),
    Option("edge_snap_px", FLOAT, "--edge-snap", "EDGE_SNAP", "Edge snap reach (scene pixels)",
           "Model methods: how far a line may move onto the image's own water/land edge; 0 = off.", advanced=True,
           minimum=0.0),
    Option("min_length_m", FLOAT, "--min-length", "MIN_LENGTH", "Minimum line length (m)",
           "Lines shorter than this are dropped as noise.", minimum=0.0),
    Option("water", ENUM, "--water", "WATER", "Water",
           "Sea only (default): the coastline of the sea, decided from the image; or every water boundary.",
           choices=lambda: WATER_CHOICES, labels=lambda: [WATER_LABELS[name] for name in WATER_CHOICES]),
    # Batch takes no reference coastline (REFERENCE, special: a layer), so no distance from one.
    Option("reference_distance_m", FLOAT, "--reference-distance", "REFERENCE_DISTANCE", "Reference distance (m)",
           "How far from the reference coastline a line may lie (metres).", minimum=0.0, batch=False),
)
BATCH_OPTIONS = tuple(option for option in OPTIONS if option.batch)


def config_with(base: ExtractConfig, values: Mapping[str, object]) -> ExtractConfig:
    """`base` with the fields given as {'min_length_m': 30.0, 'inference.overlap': 0.25, ...}."""
    top, nested = {}, {}
    for path, value in values.items():
        head, _, name = path.partition(".")
        if name:
            nested.setdefault(head, {})[name] = value
        else:
            top[head] = value
    return replace(base, **top, **{head: replace(getattr(base, head), **fields) for head, fields in nested.items()})


def add_arguments(parser: argparse.ArgumentParser, options: Sequence[Option] = OPTIONS) -> None:
    """The options as argparse arguments, with the table's defaults and help."""
    for option in options:
        text = f"{option.label}. {option.help}".replace("%", "%%")
        arguments = {"default": option.default, "help": text if option.optional else f"{text} Default: %(default)s."}
        if option.kind == ENUM:
            arguments["choices"] = option.choices()
        elif option.kind == INTS:
            arguments.update(nargs="*", metavar="N")  # also 1024,1280 (as in Processing)
        elif option.kind != STR:
            arguments["type"] = _number_type(option)
        parser.add_argument(option.flag, **arguments)


def _number_type(option: Option):
    cast = int if option.kind == INT else float

    def number(text: str):
        try:
            return option.check(cast(text))
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    number.__name__ = cast.__name__  # argparse's "invalid float value"
    return number


def config_from_arguments(args: argparse.Namespace, base: ExtractConfig | None = None,
                          options: Sequence[Option] = OPTIONS) -> ExtractConfig:
    """`base` (default ExtractConfig()) with the options' fields from parsed arguments. Raises InputError."""
    values = {option.field: option.to_config(getattr(args, option.dest)) for option in options}
    return config_with(base or ExtractConfig(), values)
