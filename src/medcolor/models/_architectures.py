"""Imports every architecture module so that its @register_model decorators run."""
from . import (  # noqa: F401
    autoencoder,
    eccv16,
    effcolor,
    fastcolor,
    fusion,
    gan,
    patchgan,
    resnet_unet,
    unet,
)
