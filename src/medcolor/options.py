"""The user-facing options, each with one name, one set of bounds and one help text.

The command line (:mod:`medcolor.cli`) and the web form (:mod:`medcolor.web`) are
derived from these records; the Python API validates with the same functions.

* ``working_size``: the short side, in pixels, at which a network predicts chroma
  (``auto``: the model's own, from its card; ``native``/None: no resize);
* ``window``: a display window for DICOM/NIfTI, a preset name or ``"C,W"``;
* ``hint_method``: how user hints act (``auto``, ``learned``, ``levin``);
* the input limits (:class:`LimitOption`, one per field of :class:`~medcolor.limits.Limits`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError

__all__ = ["MIN_WORKING_SIZE", "MAX_WORKING_SIZE", "WORKING_SIZE_HELP", "parse_working_size", "HINT_METHODS",
           "LEARNED_HINT_METHODS",
           "HINT_METHOD_HELP", "parse_hint_method", "WINDOW_HELP", "LimitOption", "LIMIT_OPTIONS", "limit_wording",
           "CONFIDENCE_HELP"]

#: Bounds of a working size in pixels: below 16 a network sees nothing; above 2048 memory, not
#: quality, decides (the same bound as a native-size input's longest side).
MIN_WORKING_SIZE = 16
MAX_WORKING_SIZE = 2048
WORKING_SIZE_HELP = (f"working size of the network, short side in pixels ({MIN_WORKING_SIZE}..{MAX_WORKING_SIZE}); "
                     "'native' for none; 'auto' (default): the size the model was trained for")

# The hint methods that use a network's own hint input (models whose capabilities say ``hints``).
LEARNED_HINT_METHODS = ("learned", "learned+levin")
HINT_METHODS = ("auto", "levin", *LEARNED_HINT_METHODS)
HINT_METHOD_HELP = ("how hints act: 'learned' (the model's own hint input), 'levin' (Levin refinement of the "
                    "automatic colours) or 'learned+levin' (the learned colours, then Levin refinement); 'auto' "
                    "(default): what the model's card chose on validation, else levin")

WINDOW_HELP = "display window for DICOM/NIfTI: a CT preset (lung, mediastinum, bone, brain, soft-tissue, abdomen) " \
              "or 'CENTER,WIDTH' in stored units (e.g. HU)"

CONFIDENCE_HELP = ("also write the model's confidence (1 - normalised entropy of its colour distribution) as a "
                   "gray image beside each output; not a probability of being right")


def parse_working_size(value) -> int | str | None:
    """``"auto"``, ``"native"``/None/0 (-> None) or a whole number of pixels in the bounds.

    Raises :class:`UsageError` (one line) for anything else.
    """
    if value is None or value == "native" or value == 0:
        return None
    if value == "auto":
        return "auto"
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"working size must be a number of pixels, 'auto' or 'native', got {value!r}") from None
    if isinstance(value, (bool, float)) or not MIN_WORKING_SIZE <= size <= MAX_WORKING_SIZE:
        raise UsageError(f"working size must be a whole number in {MIN_WORKING_SIZE}..{MAX_WORKING_SIZE}, "
                         f"got {value!r}")
    return size


def parse_hint_method(value: str) -> str:
    """One of :data:`HINT_METHODS`; :class:`UsageError` otherwise."""
    if value not in HINT_METHODS:
        raise UsageError(f"unknown hint method {value!r}; choose from {', '.join(HINT_METHODS)}")
    return value


@dataclass(frozen=True)
class LimitOption:
    """One input limit as an option.

    Attributes:
        field: the :class:`~medcolor.limits.Limits` field it sets.
        name: the option's name (``--max-pixels`` on the command line, ``max_pixels`` in the web settings).
        help: what it bounds.
    """

    field: str
    name: str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


LIMIT_OPTIONS: tuple[LimitOption, ...] = (
    LimitOption("max_frame_pixels", "max_pixels", "refuse frames with more pixels"),
    LimitOption("max_total_pixels", "max_total_pixels", "refuse inputs with more pixels in all their frames"),
    LimitOption("max_frames", "max_frames", "refuse inputs with more frames"),
    LimitOption("max_buffer_bytes", "max_buffer_bytes",
                "refuse files that cannot be read frame by frame and would take more bytes decoded"),
)


def limit_wording(how: str) -> dict[str, str]:
    """For :attr:`Limits.options`: each limit field -> ``"{how} --flag"`` (how a user raises it)."""
    return {o.field: f"{how} {o.flag}".strip() for o in LIMIT_OPTIONS}
