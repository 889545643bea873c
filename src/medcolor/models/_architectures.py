"""Imports every architecture module so that its @register_model decorators run."""
from . import autoencoder  # noqa: F401
from . import eccv16  # noqa: F401
from . import effcolor  # noqa: F401
from . import fastcolor  # noqa: F401
from . import fusion  # noqa: F401
from . import gan  # noqa: F401
from . import patchgan  # noqa: F401
from . import resnet_unet  # noqa: F401
from . import unet  # noqa: F401
