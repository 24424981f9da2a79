"""EfficientNet-Lite0 (strict weights, real photos), image loading, CLIP/DINOv2 from local folders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features import extract_layers, get_feature, load_image
from neurodecode.features.efficientnet import LAYERS, EfficientNetLite0, load_efficientnet_lite0
from neurodecode.features.image_io import ImagePreprocessing, images_to_tensor, read_preprocessing

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def effnet():
    return get_feature("efficientnet_lite0").load()


def test_weights_load_strictly_and_cover_every_parameter():
    model = load_efficientnet_lite0()
    state = torch.load(get_feature("efficientnet_lite0")._weights_path(), weights_only=True)
    assert set(state) == set(model.state_dict())
    assert sum(p.numel() for p in model.parameters()) == 4_652_008


def test_top1_on_real_photos(effnet):
    probs = effnet.predict([skdata.coffee(), skdata.chelsea()])
    assert probs.shape == (2, 1000)
    assert probs[0].argmax() in (967, 968, 504)  # espresso, cup, coffee mug
    assert probs[1].argmax() in (281, 282, 285)  # tabby, tiger cat, Egyptian cat
    assert probs[0].max() > 0.5


def test_layer_features_pooled_and_spatial(effnet):
    imgs = [skdata.coffee(), skdata.chelsea()]
    layers = extract_layers(effnet, imgs)
    assert list(layers) == LAYERS
    assert layers["_stem_act"].shape == (2, 32) and layers["_avg_pooling"].shape == (2, 1280)
    np.testing.assert_allclose(layers["_head_act"], layers["_avg_pooling"], rtol=1e-5, atol=1e-6)
    spatial = extract_layers(effnet, imgs[:1], ["_blocks.15"], pooled=False)["_blocks.15"]
    assert spatial.shape == (1, 320 * 7 * 7)
    np.testing.assert_allclose(spatial.reshape(1, 320, 49).mean(-1), layers["_blocks.15"][:1],
                               rtol=1e-4, atol=1e-5)
    inner = get_feature("efficientnet_lite0", layer="_blocks.3._depthwise_conv").compute(imgs[:1])
    assert inner[0].shape == (144,)


def test_greyscale_rgba_and_float_are_converted(effnet):
    rgb = skdata.chelsea()
    grey = rgb.mean(axis=2).astype(np.uint8)
    assert load_image(grey).shape == rgb.shape
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(load_image(rgba), rgb)
    transparent = rgba.copy()
    transparent[..., 3] = 0
    assert (load_image(transparent) == 255).all()
    np.testing.assert_array_equal(load_image(rgb / 255.0), rgb)
    grey_feat = effnet.compute([grey])[0]
    assert grey_feat.shape == (1280,) and np.isfinite(grey_feat).all()


def test_image_files(tmp_path):
    from PIL import Image

    Image.fromarray(skdata.chelsea()).convert("L").save(tmp_path / "cat.png")
    assert load_image(tmp_path / "cat.png").shape == (300, 451, 3)
    Image.fromarray(skdata.chelsea()).convert("RGBA").save(tmp_path / "cat_rgba.png")
    np.testing.assert_array_equal(load_image(tmp_path / "cat_rgba.png"), skdata.chelsea())
    with pytest.raises(DataNotFoundError, match="image file .*missing.png' does not exist"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DataFormatError, match="cannot be read as an image"):
        load_image(tmp_path / "junk.png")


def test_image_input_errors(tmp_path):
    with pytest.raises(ValueError, match="must have shape \\(H, W\\)"):
        load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="uint8 in \\[0, 255\\] or float in \\[0, 1\\]"):
        load_image(np.full((4, 4, 3), 300.0))
    with pytest.raises(TypeError, match="image must be ndarray"):
        load_image(12)
    with pytest.raises(ValueError, match="unknown layer name.*'_blocks.0'"):
        get_feature("efficientnet_lite0", layer="_blocks.99")
    with pytest.raises(DataNotFoundError, match="weights .*nope.pth' do not exist"):
        get_feature("efficientnet_lite0", weights=tmp_path / "nope.pth").load()
    with pytest.raises(DataNotFoundError, match="weights .*nope.pth' do not exist"):
        load_efficientnet_lite0(tmp_path / "nope.pth")
    with pytest.raises(TypeError, match="registry name, a layered feature .* or a torch.nn.Module; got MelSpectrum"):
        extract_layers(get_feature("mel"), [])
    assert isinstance(EfficientNetLite0(), torch.nn.Module)


@pytest.fixture(scope="module")
def tiny_vision(tmp_path_factory):
    from transformers import CLIPConfig, CLIPModel, Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("vision")
    small = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 32, "image_size": 32, "patch_size": 8}
    clip = CLIPConfig(vision_config=small, text_config={**small, "vocab_size": 50},
                      projection_dim=8)
    CLIPModel(clip).save_pretrained(root / "clip")  # no preprocessor: CLIP's defaults
    Dinov2Model(Dinov2Config(**small)).save_pretrained(root / "dinov2")
    _bit_processor(36, 32).save_pretrained(root / "dinov2")
    return root


def _processor(name):
    """transformers' Pillow image processor class (named ``<name>Pil`` in recent versions)."""
    import transformers

    return getattr(transformers, name + "Pil", None) or getattr(transformers, name)


def _bit_processor(shortest_edge, crop):
    return _processor("BitImageProcessor")(size={"shortest_edge": shortest_edge},
                             crop_size={"height": crop, "width": crop},
                             image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])


@pytest.mark.parametrize("name", ["clip_vision", "dinov2"])
def test_tiny_vision_transformers(tiny_vision, name):
    path = tiny_vision / ("clip" if name == "clip_vision" else "dinov2")
    imgs = [skdata.coffee(), skdata.chelsea()]
    layers = extract_layers(name, imgs, model_path=path)
    assert list(layers) == ["last", "hidden_states.0", "hidden_states.1", "hidden_states.2"]
    assert layers["last"].shape == (2, 16)
    assert not np.allclose(layers["last"][0], layers["last"][1])
    tokens = extract_layers(name, imgs[:1], ["hidden_states.2"], model_path=path, pooled=False)
    n_tokens = tokens["hidden_states.2"].shape[1] // 16
    assert n_tokens == 17  # CLS + 4 x 4 patches
    feat = get_feature(name, model_path=path, tokens="mean", layer="hidden_states.1")
    assert feat.compute(imgs[:1])[0].shape == (16,)


def test_pixels_equal_transformers_image_processors(tiny_vision, tmp_path):
    """The preprocessing read from preprocessor_config.json (DINOv2 folder), or CLIP's
    standard one when the folder has none, gives the pixels of transformers' processors."""
    imgs = [skdata.coffee(), skdata.chelsea()[:, :200], skdata.camera()]  # wide, tall, grey
    cases = {"dinov2": _bit_processor(36, 32),
             "clip_vision": _processor("CLIPImageProcessor")(size={"shortest_edge": 32},
                                               crop_size={"height": 32, "width": 32})}
    stretched = _processor("BitImageProcessor")(
        size={"height": 40, "width": 40}, crop_size={"height": 32, "width": 32},
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    stretched.save_pretrained(tmp_path / "stretch")
    shutil.copy(tiny_vision / "dinov2" / "config.json", tmp_path / "stretch")
    cases["stretch"] = stretched
    for name, processor in cases.items():
        folder = {"clip_vision": tiny_vision / "clip", "dinov2": tiny_vision / "dinov2",
                  "stretch": tmp_path / "stretch"}[name]
        feat = get_feature("clip_vision" if name == "clip_vision" else "dinov2",
                           model_path=folder)
        prep = feat.preprocessing()
        ours = images_to_tensor(imgs, prep.size, prep.mean, prep.std, prep.resize, prep.mode,
                                prep.stretch)
        ref = processor(images=[np.stack([i] * 3, -1) if i.ndim == 2 else i for i in imgs],
                        return_tensors="np")["pixel_values"]
        np.testing.assert_allclose(ours.numpy(), ref, atol=1e-5)
    shutil.copy(tiny_vision / "dinov2" / "config.json", tmp_path)  # no preprocessor file
    prep = get_feature("dinov2", model_path=tmp_path).preprocessing()
    assert (prep.size, prep.resize, prep.mode) == (224, 256, "pil-bicubic")  # DINOv2's own


def test_preprocessor_config_variants_and_errors(tmp_path):
    import json

    default = ImagePreprocessing(size=224, resize=256, mean=(0.0,) * 3, std=(1.0,) * 3)
    path = tmp_path / "preprocessor_config.json"
    path.write_text(json.dumps({"size": {"height": 64, "width": 64}, "do_center_crop": False,
                                "resample": 2, "image_mean": 0.5, "image_std": [0.5]}))
    prep = read_preprocessing(tmp_path, default)
    assert (prep.size, prep.resize, prep.mode, prep.stretch) == (64, 64, "pil-bilinear", True)
    assert prep.mean == (127.5,) * 3 and prep.std == (127.5,) * 3
    batch = images_to_tensor([skdata.chelsea()], prep.size, prep.mean, prep.std, prep.resize,
                             prep.mode, prep.stretch)
    assert batch.shape == (1, 3, 64, 64)  # squashed, not cropped
    path.write_text(json.dumps({"crop_size": {"height": 32, "width": 48}}))
    with pytest.raises(DataFormatError, match="only square crops are supported"):
        read_preprocessing(tmp_path, default)
    path.write_text(json.dumps({"resample": 9}))
    with pytest.raises(DataFormatError, match="resample=9 .* not a Pillow filter code"):
        read_preprocessing(tmp_path, default)
    path.write_text("{not json")
    with pytest.raises(DataFormatError, match="cannot read .* as JSON"):
        read_preprocessing(tmp_path, default)
    with pytest.raises(ValueError, match="mode='cubic' is not valid"):
        images_to_tensor([skdata.chelsea()], 8, (0,) * 3, (1,) * 3, mode="cubic")


def test_vision_model_path_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="model path .*absent' does not exist.*huggingface-cli"):
        get_feature("dinov2", model_path=tmp_path / "absent").compute([skdata.chelsea()])
    with pytest.raises(ValueError, match="tokens='max' is not valid"):
        get_feature("clip_vision", model_path=tmp_path, tokens="max")
