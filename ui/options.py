"""The extraction options of core/pipeline/options.py as Processing parameters, declared and read back. Apart from
ui/parameters.py: the setup algorithms load that one without the engine's packages, which this one imports."""

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber, QgsProcessingParameterString

from ..core.pipeline.options import ENUM, FLOAT, INT
from .parameters import add_parameter


def add_options(algorithm, options, before=None) -> None:
    """The options as parameters, in the table's order. `before`: {option parameter name: [(parameter, help,
    advanced), ...]}, the algorithm's own parameters (special QGIS types) declared just before that option."""
    for option in options:
        for parameter, help_text, advanced in (before or {}).get(option.parameter, ()):
            add_parameter(algorithm, parameter, help_text, advanced)
        add_parameter(algorithm, option_parameter(option), option.help, option.advanced)


def option_parameter(option):
    if option.kind == ENUM:
        choices = list(option.choices())
        return QgsProcessingParameterEnum(option.parameter, option.label,
                                          options=list(option.labels() if option.labels else choices),
                                          defaultValue=choices.index(option.default))
    if option.kind in (INT, FLOAT):
        number = QgsProcessingParameterNumber
        bounds = {name: value for name, value in (("minValue", option.minimum), ("maxValue", option.maximum))
                  if value is not None}
        return number(option.parameter, option.label, number.Integer if option.kind == INT else number.Double,
                      option.default, option.optional, **bounds)
    return QgsProcessingParameterString(option.parameter, option.label, optional=option.optional)  # STR, INTS


def option_values(algorithm, parameters, context, options) -> dict:
    """{config field: value} of the options (core.pipeline.options.config_with takes it). Raises InputError."""
    values = {}
    for option in options:
        name = option.parameter
        if option.kind == ENUM:
            value = option.choices()[algorithm.parameterAsEnum(parameters, name, context)]
        elif option.optional and parameters.get(name) in (None, ""):
            value = None
        elif option.kind == INT:
            value = algorithm.parameterAsInt(parameters, name, context)
        elif option.kind == FLOAT:
            value = algorithm.parameterAsDouble(parameters, name, context)
        else:
            value = algorithm.parameterAsString(parameters, name, context)
        values[option.field] = option.to_config(value)
    return values
