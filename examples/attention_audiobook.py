"""Auditory attention decoding on a simulated two-speaker study built from real speech.

Each of the 10 audiobook trials of ``speech_audiobook`` is the attended speaker; the
next trial (cyclically) is the ignored one. Their envelopes (|Hilbert|^0.6 at 32 Hz) drive a
simulated 16-channel EEG (the attended at full gain, the ignored at 0.3, 100 ms latency)
in noise. A backward TRF (0-300 ms), fit leaving one trial out, reconstructs the
envelope; each decision window picks the speaker it correlates with best. Prints the
accuracy per window and the minimal expected switch duration (MESD) and writes
``attention_accuracy.png``::

    python examples/attention_audiobook.py out_folder [--data ../shared/data] [--snr 0.003]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from neurodecode.encoding import decode_attention, simulate_two_speaker  # noqa: E402
from neurodecode.features.audio import compute_envelope  # noqa: E402
from neurodecode.simulate.audio import load_audiobook  # noqa: E402
from neurodecode.viz import plot_attention_accuracy  # noqa: E402

SFREQ = 32.0


def two_speaker_study(data: Path, snr: float = 0.003, n_trials: int | None = None):
    """(eeg, attended, unattended) lists of the simulated study."""
    trials = load_audiobook(data, n_trials=n_trials)
    envs = [compute_envelope(t.wav, t.sr, out_sfreq=SFREQ, compression=0.6)[0] for t in trials]
    return simulate_two_speaker(envs, SFREQ, n_channels=16, snr=snr, seed=0)


def run(data: Path, snr: float = 0.003, n_trials: int | None = None,
        window_s: tuple = (1.0, 5.0, 10.0, 30.0)):
    """Decode the study; return the AttentionResult."""
    eeg, att, unatt = two_speaker_study(data, snr, n_trials)
    return decode_attention(eeg, att, unatt, SFREQ, window_s=window_s, tmax=0.3)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for attention_accuracy.png")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    parser.add_argument("--snr", type=float, default=0.003, help="signal/noise power per channel")
    parser.add_argument("--n-trials", type=int, default=None, help="audiobook trials (3-10)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    res = run(args.data, args.snr, args.n_trials)
    for w, a, n in zip(res.window_s, res.accuracy, res.n_decisions):
        print(f"window {w:4.0f} s: accuracy {100 * a:5.1f} % of {n} decisions")
    print(f"MESD {res.mesd.mesd:.1f} s at {res.mesd.window_s:.1f} s windows")
    plot_attention_accuracy(res, title="attention decoding (simulated, audiobook speech)",
                            fname=args.out / "attention_accuracy.png")


if __name__ == "__main__":
    main()
