import numpy as np
import pytest

from omnireset_core.interfaces import CameraIntrinsics
from omnireset_drivers.image import CropResize


def test_crop_is_centred_with_output_aspect():
    plan = CropResize(640, 480, 224, 224)
    assert (plan.x0_px, plan.y0_px, plan.crop_width_px, plan.crop_height_px) == (80, 0, 480, 480)
    tall = CropResize(480, 640, 224, 112)
    assert (tall.x0_px, tall.y0_px, tall.crop_width_px, tall.crop_height_px) == (0, 200, 480, 240)


def test_integer_downscale_is_block_mean_and_constants_survive():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = CropResize(8, 8, 4, 4)(img)
    expect = img.reshape(4, 2, 4, 2, 3).astype(float).mean(axis=(1, 3))
    np.testing.assert_array_equal(out, np.rint(expect).astype(np.uint8))
    flat = np.full((480, 640, 3), 77, np.uint8)
    assert np.all(CropResize(640, 480, 224, 224)(flat) == 77)


def test_same_size_is_an_exact_copy():
    img = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(CropResize(64, 48, 64, 48)(img), img)


def test_ramp_lands_where_the_scaled_intrinsics_say():
    # R = column, G = row in input pixel units (scaled to fit uint8): area averaging of a ramp
    # equals the ramp at the output pixel's centre, so pixel geometry and intrinsics must agree.
    h, w = 480, 640
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    img = np.rint(np.stack([cols * 255 / 639, rows * 255 / 479, np.zeros_like(rows)], axis=-1)).astype(np.uint8)
    plan = CropResize(w, h, 224, 224)
    out = plan(img).astype(float)
    intr_in = CameraIntrinsics(w, h, 600.0, 601.0, 321.3, 238.7)
    intr = plan.intrinsics(intr_in)
    assert (intr.width_px, intr.height_px) == (224, 224)
    assert intr.fx_px == pytest.approx(600.0 * 224 / 480) and intr.fy_px == pytest.approx(601.0 * 224 / 480)
    # the output pixel nearest the output principal point holds the input principal point's values
    j, i = int(round(intr.cx_px)), int(round(intr.cy_px))
    u_in = (j + 0.5) / plan.scale_x - 0.5 + plan.x0_px
    v_in = (i + 0.5) / plan.scale_y - 0.5 + plan.y0_px
    assert out[i, j, 0] == pytest.approx(u_in * 255 / 639, abs=1.0)
    assert out[i, j, 1] == pytest.approx(v_in * 255 / 479, abs=1.0)
    assert abs(u_in - intr_in.cx_px) <= 0.5 / plan.scale_x + 1e-9
    # and everywhere: the whole ramp maps linearly
    jj = np.arange(224)
    u_all = (jj + 0.5) / plan.scale_x - 0.5 + plan.x0_px
    np.testing.assert_allclose(out[100, :, 0], u_all * 255 / 639, atol=1.0)


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="out_width_px"):
        CropResize(640, 480, 0, 224)
    with pytest.raises(ValueError, match="480x640"):
        CropResize(640, 480, 224, 224)(np.zeros((10, 10, 3), np.uint8))
