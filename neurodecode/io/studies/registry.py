"""The explicit registry of public datasets: name -> Study class."""

from __future__ import annotations

from ..._validation import check_option
from .base import Study
from .brennan2019 import Brennan2019
from .broderick2019 import Broderick2019
from .gwilliams2022 import Gwilliams2022
from .haxby2001 import Haxby2001
from .mne_sample import MneSample
from .nsd import Nsd
from .schoffelen2019 import Schoffelen2019
from .things_eeg2 import ThingsEeg2
from .things_meg import ThingsMeg

STUDIES: dict[str, type[Study]] = {
    "gwilliams2022": Gwilliams2022,
    "brennan2019": Brennan2019,
    "broderick2019": Broderick2019,
    "schoffelen2019": Schoffelen2019,
    "things_meg": ThingsMeg,
    "things_eeg2": ThingsEeg2,
    "nsd": Nsd,
    "haxby2001": Haxby2001,
    "mne_sample": MneSample,
}


def get_study(name: str) -> Study:
    """The study registered as ``name``; an unknown name lists the valid ones."""
    check_option("name", name, STUDIES)
    return STUDIES[name]()


__all__ = ["STUDIES", "get_study"]
