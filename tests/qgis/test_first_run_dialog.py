"""The first-run dialog says what is true on the machine: without scikit-image and shapely only Setup loads, so
the small classical install comes first; without torch only the model methods are missing."""

import pytest

CLASSICAL_AND_MODELS_MISSING = ["skimage", "shapely", "torch", "torchvision", "segmentation_models_pytorch", "timm",
                                "safetensors"]  # Debian's QGIS 3.22 in an empty profile


def press(label):
    """A stand-in for the user: clicks the button whose text starts with `label`."""
    return lambda box: next(button for button in box.buttons() if button.text().startswith(label)).click()


@pytest.fixture()
def asking(qgis_app):
    from qgis.core import QgsSettings

    from sar_coastline.ui import dependencies_dialog as dialog

    QgsSettings().remove(dialog.DONT_ASK_KEY)
    yield dialog
    QgsSettings().remove(dialog.DONT_ASK_KEY)


def test_missing_packages_split_into_the_classical_method_and_the_models():
    from sar_coastline.setup.dependencies import missing_by_component

    assert missing_by_component(CLASSICAL_AND_MODELS_MISSING) == (
        ["scikit-image", "shapely"], ["torch", "torchvision", "segmentation-models-pytorch", "timm", "safetensors"])
    assert missing_by_component(["torch"]) == ([], ["torch"])
    assert missing_by_component([]) == ([], [])


def test_without_scikit_image_the_dialog_offers_the_classical_install_first(asking):
    box, buttons = asking.message_box(None, CLASSICAL_AND_MODELS_MISSING)
    said = box.text() + " " + box.informativeText()
    assert "scikit-image, shapely" in box.text() and "torch" in box.text()
    assert "works without them" not in said  # the classical method does not: it needs these very packages
    assert "shows only SAR Coastline > Setup" in said and "about 60 MB" in said
    assert box.defaultButton() is buttons["classical"]
    assert [button.text() for button in box.buttons()] == [
        "Install the classical method (about 60 MB)…", "Install everything (1 to 5 GB)…", "Not now", "Don't ask again"]

    opened = []
    assert asking.offer_install(None, CLASSICAL_AND_MODELS_MISSING, press("Install the classical"),
                                opened.append) is None
    asking.offer_install(None, CLASSICAL_AND_MODELS_MISSING, press("Install everything"), opened.append)
    assert opened == ["classical", "models"]
    assert asking.should_offer(CLASSICAL_AND_MODELS_MISSING)


def test_with_the_classical_method_installed_only_the_models_are_offered(asking):
    box, buttons = asking.message_box(None, ["torch", "segmentation_models_pytorch"])
    assert "torch, segmentation-models-pytorch" in box.text()
    assert "The classical method works without them" in box.informativeText()  # true here: skimage imports
    assert "classical" not in buttons and box.defaultButton() is buttons["models"]
    opened = []
    asking.offer_install(None, ["torch"], press("Install…"), opened.append)
    assert opened == ["models"]


def test_only_shapely_missing_names_only_shapely(asking):
    box, _buttons = asking.message_box(None, ["shapely"])
    assert "lacks shapely," in box.text() and "scikit-image" not in box.text()
    assert "(shapely: about 60 MB)" in box.informativeText() and "Install everything" not in [
        button.text() for button in box.buttons()]


def test_the_install_dialog_opens_with_the_component_chosen(provider, qgis_iface, monkeypatch):
    from qgis.gui import QgsBrowserGuiModel

    from sar_coastline.ui import dependencies_dialog as dialog
    from sar_coastline.ui.install_dependencies_algorithm import COMPONENT_VALUES

    browser = QgsBrowserGuiModel()  # the Processing dialog asks the interface for one; the test stub has none
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    for component in COMPONENT_VALUES:
        opened = dialog.open_install_dialog(component)
        try:
            chosen = opened.mainWidget().wrappers["COMPONENTS"].parameterValue()
            assert COMPONENT_VALUES[chosen] == component
        finally:
            opened.close()
