"""What every algorithm does when it declares a parameter: help text always, the advanced flag when asked."""

from qgis.core import QgsProcessingParameterDefinition


def add_parameter(algorithm, parameter, help_text: str, advanced: bool = False) -> None:
    parameter.setHelp(help_text)
    if advanced:
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    algorithm.addParameter(parameter)
