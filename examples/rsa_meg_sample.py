"""Time-resolved RSA of the MNE sample MEG, then a sensor searchlight at its peak.

The four conditions (auditory/visual x left/right) of ``meg_sample_crop`` are compared
over sliding 30 ms windows (10 ms apart) with an "auditory vs visual" model RDM
(condition means, correlation distance, Pearson); the sensor searchlight (MNE's channel adjacency) at the peak gives a
topomap of where the model fits. Writes ``timecourse.png`` and ``searchlight_topomap.png``
into the folder given on the command line and prints the peak::

    python examples/rsa_meg_sample.py out_folder [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import mne  # noqa: E402
import numpy as np  # noqa: E402

from neurodecode.rsa import rsa_timecourse, sensor_searchlight  # noqa: E402
from neurodecode.viz import plot_timecourse, plot_topomap  # noqa: E402

# condition pairs (1,2) (1,3) (1,4) (2,3) (2,4) (3,4): auditory = {1, 2}, visual = {3, 4}
AUDITORY_VS_VISUAL = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.0])


def read_epochs(root: Path) -> mne.Epochs:
    """Epochs of the 4 auditory/visual conditions, MEG channels, 1-30 Hz, -0.2..0.5 s."""
    raw = mne.io.read_raw_fif(root / "meg_sample_crop" / "test_raw.fif", preload=True,
                              verbose=False)
    events = mne.find_events(raw, "STI 014", verbose=False)
    raw.filter(1.0, 30.0, verbose=False)
    return mne.Epochs(raw, events, event_id=[1, 2, 3, 4], tmin=-0.2, tmax=0.5, picks="meg",
                      baseline=(None, 0), preload=True, verbose=False)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    epochs = read_epochs(args.data)
    models = {"auditory vs visual": AUDITORY_VS_VISUAL}
    sfreq = epochs.info["sfreq"]
    res = rsa_timecourse(epochs.get_data(), epochs.events[:, 2], models, method="pearson",
                         window=round(0.03 * sfreq), step=round(0.01 * sfreq), sfreq=sfreq,
                         tmin=epochs.tmin)
    latency, value = res.peak(0)
    print(f"time-resolved RSA: peak r = {value:.3f} at {latency * 1e3:.0f} ms "
          f"(baseline max {res.group_mean[res.times < 0, 0].max():.3f})")
    plot_timecourse(res.group_mean[:, 0], res.times, labels=list(models), ylabel="Pearson r",
                    title="MEG sample: auditory vs visual model", fname=args.out / "timecourse.png")

    around = epochs.copy().crop(latency - 0.03, latency + 0.03)
    maps = sensor_searchlight(around.get_data(), models, around.info,
                              conditions=around.events[:, 2], method="pearson", tmin=around.tmin)
    evoked = maps["auditory vs visual"]
    mags = mne.pick_types(evoked.info, meg="mag")
    t = evoked.time_as_index(latency)[0]
    best = mags[np.argmax(evoked.data[mags, t])]
    print(f"searchlight at {latency * 1e3:.0f} ms: best magnetometer {evoked.ch_names[best]} "
          f"r = {evoked.data[best, t]:.3f}; median over magnetometers "
          f"{np.median(evoked.data[mags, t]):.3f}")
    plot_topomap(evoked.data[mags, t], mne.pick_info(evoked.info, mags), ch_type="mag",
                 title=f"searchlight r at {latency * 1e3:.0f} ms", cbar_label="Pearson r",
                 fname=args.out / "searchlight_topomap.png")
    print(f"wrote {args.out / 'timecourse.png'} and {args.out / 'searchlight_topomap.png'}")


if __name__ == "__main__":
    main()
