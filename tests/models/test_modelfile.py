import json
import os
import pickle

import pytest
import torch
from fulldisk import fill, small_disk

from sar_coastline.core.errors import OutputError
from sar_coastline.core.io import writing
from sar_coastline.models.modelfile import (
    ModelFileError,
    ModelMeta,
    create_model,
    load_model,
    read_manifest,
    read_meta,
    save_model,
    write_manifest,
)

TINY = ModelMeta(architecture="Unet", encoder="resnet18", head="softmax", classes=("sea", "nodata", "land"),
                 input_transform="log", model_side=64, crop_range=(128, 192), validation_score=12.5,
                 provenance={"data": "generated", "recipe": "test"})


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    torch.manual_seed(0)
    network = create_model(TINY)
    path = save_model(tmp_path_factory.mktemp("models") / "tiny.safetensors", network, TINY)
    return path, network


def test_round_trip_keeps_weights_and_metadata(tiny_file):
    path, network = tiny_file
    loaded = load_model(path)
    assert loaded.meta == TINY
    batch = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(batch), network.eval()(batch))
    assert TINY.scales == (128, 160, 192)


def test_a_header_length_ending_in_0x80_is_not_taken_for_a_pickle(tiny_file, tmp_path):
    """A safetensors file starts with its header length, little-endian: its first byte may be 0x80, a pickle's."""
    from dataclasses import replace

    _path, network = tiny_file
    for padding in range(0, 512, 8):  # safetensors pads the header to 8 bytes: lengths step by 8
        meta = replace(TINY, provenance={"data": "generated", "note": "x" * padding})
        path = save_model(tmp_path / "odd.safetensors", network, meta)
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no metadata length gave a header length with 0x80 as its low byte")
    assert read_meta(path) == meta
    assert load_model(path).meta == meta


def test_half_precision_file_is_smaller_and_loads(tiny_file, tmp_path):
    path, network = tiny_file
    half = save_model(tmp_path / "half.safetensors", network, TINY, half=True)
    assert half.stat().st_size < 0.6 * path.stat().st_size
    loaded = load_model(half).network
    assert next(loaded.parameters()).dtype == torch.float32
    # The same network, its weights rounded to half precision (11 significant bits: about 5e-4 relative): the
    # softmax output moves by under a thousandth (measured 8e-4); coarser rounding or weights lost move it by tenths.
    batch = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        expected = torch.softmax(network.eval()(batch), 1)
        torch.testing.assert_close(torch.softmax(loaded(batch), 1), expected, atol=0.01, rtol=0)


@pytest.mark.parametrize("checked_first", [True, False], ids=["refused before writing", "failing while writing"])
def test_a_save_on_a_full_disk_keeps_the_previous_model_file(tiny_file, tmp_path, monkeypatch, checked_first):
    path, network = tiny_file
    if not checked_first:
        monkeypatch.setattr(writing, "check_free_space", lambda *args, **kwargs: None)
    size_kb = path.stat().st_size >> 10
    with small_disk(tmp_path / "disk", size_kb * 3 // 2) as disk:  # holds one model file, not two
        target = disk / "member.safetensors"
        target.write_bytes(path.read_bytes())
        fill(disk, leave_bytes=1 << 20)
        with pytest.raises(OutputError, match=f"the model file '{target}': .*Free disk space"):
            save_model(target, network, TINY)
        assert target.read_bytes() == path.read_bytes() and load_model(target).meta == TINY
        assert sorted(os.listdir(disk)) == ["filler", "member.safetensors"]


def test_pickle_is_refused_without_being_run(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    for name, write in (("model.pt", lambda p: torch.save({"x": torch.zeros(1)}, p)),
                        ("model.pkl", lambda p: p.write_bytes(pickle.dumps(Exploit())))):
        path = tmp_path / name
        write(path)
        with pytest.raises(ModelFileError, match="pickle"):
            load_model(path)
    assert not (tmp_path / "pwned").exists()


def test_mismatched_weights_are_named(tiny_file, tmp_path):
    path, network = tiny_file
    other = ModelMeta(**{**TINY.__dict__, "head": "softmax_coast", "classes": ("sea", "nodata", "land", "coast")})
    from safetensors.torch import load_file, save_file

    mismatched = tmp_path / "mismatched.safetensors"
    save_file(load_file(str(path)), str(mismatched), metadata={"sar_coastline": other.to_json()})
    with pytest.raises(ModelFileError, match="do not match its metadata.*wrong shape"):
        load_model(mismatched)


@pytest.mark.parametrize(("change", "message"), [
    ({"head": "tanh"}, "head 'tanh'"),
    ({"classes": ["sea", "land"]}, "do not match the head"),
    ({"input_transform": "sqrt"}, "input transform 'sqrt'"),
    ({"model_side": 500}, "multiple of 32"),
])
def test_inconsistent_metadata_is_named(tmp_path, tiny_file, change, message):
    from safetensors.torch import load_file, save_file

    raw = {**json.loads(TINY.to_json()), **change}
    path = tmp_path / "bad.safetensors"
    save_file(load_file(str(tiny_file[0])), str(path), metadata={"sar_coastline": json.dumps(raw)})
    with pytest.raises(ModelFileError, match=message):
        read_meta(path)


def test_missing_metadata_and_corrupt_files(tmp_path, tiny_file):
    from safetensors.torch import save_file

    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, str(bare))
    with pytest.raises(ModelFileError, match="no SAR Coastline metadata"):
        read_meta(bare)
    truncated = tmp_path / "truncated.safetensors"
    content = tiny_file[0].read_bytes()
    header_end = 8 + int.from_bytes(content[:8], "little")
    truncated.write_bytes(content[:header_end + 1000])  # metadata intact, tensors cut off
    with pytest.raises(ModelFileError, match="corrupt"):
        load_model(truncated)
    with pytest.raises(ModelFileError, match="lacks architecture"):
        ModelMeta.from_json(json.dumps({"encoder": "resnet18", "head": "sigmoid", "classes": ["coast"],
                                        "input_transform": "log"}))


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(ModelFileError, match="Valid: .*unet"):
        create_model(ModelMeta(**{**TINY.__dict__, "architecture": "Vnet"}))


def test_manifest_round_trip(tmp_path, tiny_file):
    manifest = write_manifest(tmp_path / "ensemble.json", [(str(tiny_file[0]), 0.7), (str(tiny_file[0]), 0.3)])
    members = read_manifest(manifest)
    assert [weight for _path, weight in members] == [0.7, 0.3]
    assert members[0][0] == tiny_file[0].resolve()
    (tmp_path / "broken.json").write_text('{"format": "other"}')
    with pytest.raises(ModelFileError, match="not an ensemble manifest"):
        read_manifest(tmp_path / "broken.json")


def test_crop_sides_follow_the_ground_resolution_both_ways():
    from dataclasses import replace

    meta = replace(TINY, model_side=256, crop_range=(288, 448), pixel_size_m=3.0)
    assert meta.scales == (288, 352, 448)
    assert meta.scales_for(3.0) == (288, 352, 448)
    assert meta.scales_for(1.5) == (576, 704, 896)
    assert meta.scales_for(10.0) == (86, 106, 134)  # below the model side: windows are enlarged
    assert replace(meta, pixel_size_m=None).scales_for(10.0) == (288, 352, 448)


def test_a_multi_resolution_model_reads_its_trained_pixel_sizes_at_its_own_sides():
    from dataclasses import replace

    meta = replace(TINY, model_side=256, crop_range=(288, 448), pixel_size_m=3.0, pixel_size_range_m=(3.0, 40.0))
    assert meta.scales_for(3.0) == meta.scales_for(10.0) == meta.scales_for(40.0) == (288, 352, 448)
    assert meta.scales_for(1.5) == (576, 704, 896)  # finer than trained: the same ground as at 3 m
    assert meta.scales_for(80.0) == (144, 176, 224)  # coarser than trained: as at 40 m, enlarged
    assert ModelMeta.from_json(meta.to_json()).pixel_size_range_m == (3.0, 40.0)
    with pytest.raises(ModelFileError, match="pixel_size_range_m"):
        replace(meta, pixel_size_range_m=(10.0, 3.0)).check()


def test_chosen_inference_scales_replace_the_crop_range_rule_from_their_pixel_size():
    from dataclasses import replace

    meta = replace(TINY, model_side=256, crop_range=(288, 448), pixel_size_m=3.0, pixel_size_range_m=(3.0, 40.0),
                   inference_scales=((10.0, (256,)),))
    assert meta.scales_for(3.0) == meta.scales_for(5.0) == (288, 352, 448)  # finer than 10 m: as in training
    assert meta.scales_for(10.0) == meta.scales_for(40.0) == (256,)
    assert meta.scales_for(80.0) == (128,)  # coarser than trained: the same ground as at 40 m
    assert ModelMeta.from_json(meta.to_json()).inference_scales == ((10.0, (256,)),)
    assert ModelMeta.from_json(replace(meta, inference_scales=()).to_json()).scales_for(10.0) == (288, 352, 448)
    for wrong in (((10.0, ()),), ((10.0, (16,)),), ((0.0, (256,)),)):
        with pytest.raises(ModelFileError, match="inference_scales"):
            replace(meta, inference_scales=wrong).check()
    with pytest.raises(ModelFileError, match="inference_scales"):
        ModelMeta.from_json(meta.to_json().replace("[[10.0, [256]]]", "[256]"))
