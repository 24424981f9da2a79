"""Stimulus-response coherence of the MNE sample MEG/EEG with its stimulus train.

The 24 s crop of the MNE "sample" session (``meg_sample_crop``) presents auditory and
visual stimuli about every 0.7 s. The stimulus time series is the train of event onsets
(``STI 014``); each MEG and EEG channel (0.5-40 Hz, resampled to 100 Hz) is compared
with it by multitaper coherence (4 s epochs), against 200 circularly shifted trains.
Prints the channels above the family-wise null and their dominant frequencies, and
writes ``coherence.png`` (spectra of the 4 most coherent channels with their null
bands)::

    python examples/coherence_meg_sample.py out_folder [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import mne  # noqa: E402
import numpy as np  # noqa: E402

from neurodecode.encoding import stimulus_response_coherence  # noqa: E402
from neurodecode.viz import plot_coherence  # noqa: E402


def event_train_coherence(data: Path, n_surrogates: int = 200):
    """(CoherenceResult, stimulation rate in Hz, number of events) of the sample data."""
    raw = mne.io.read_raw_fif(data / "meg_sample_crop" / "test_raw.fif", preload=True,
                              verbose=False)
    events = mne.find_events(raw, "STI 014", verbose=False)
    onset_s = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
    raw.filter(0.5, 40.0, picks=["meg", "eeg"], verbose=False)
    raw.resample(100.0, verbose=False)
    sfreq = raw.info["sfreq"]
    onsets = np.round(onset_s * sfreq).astype(int)
    onsets = onsets[(onsets >= 0) & (onsets < raw.n_times)]
    train = np.zeros(raw.n_times)
    train[onsets] = 1.0
    picks = mne.pick_types(raw.info, meg=True, eeg=True)
    res = stimulus_response_coherence(train, raw.get_data(picks), sfreq, epoch_s=4.0, fmin=0.5,
                                      fmax=20.0, n_surrogates=n_surrogates,
                                      ch_names=[raw.ch_names[i] for i in picks])
    rate = (len(onsets) - 1) / ((onsets[-1] - onsets[0]) / sfreq)
    return res, rate, len(onsets)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for coherence.png")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    res, rate, n_events = event_train_coherence(args.data)
    peaks = res.dominant_frequency()
    sig = np.isfinite(peaks)
    print(f"{n_events} stimuli at {rate:.2f} Hz; {int(sig.sum())} of {len(peaks)} channels "
          "coherent above the family-wise null")
    values, counts = np.unique(peaks[sig], return_counts=True)
    for c, v in sorted(zip(counts, values), reverse=True)[:5]:
        print(f"dominant frequency {v:.2f} Hz: {c} channels")
    plot_coherence(res, title="MNE sample: coherence with the stimulus train",
                   fname=args.out / "coherence.png")


if __name__ == "__main__":
    main()
