"""Who heard whom, measured from the audio: normalised cross-correlation of
what a party heard against each speaker's source lines, over each phase.

All times are seconds on one timeline (the demo's t0). A speaker's line
sample i went out at speaks_at + i/8000; a party's heard sample j arrived
at hears_at + j/8000 (both roughly: process start-up is unknown), so each
speaker is searched at lags of -MAX_LAG..+MAX_LAG around the nominal
alignment. A mix of two speakers correlates with each at about 0.7; an
absent speaker correlates near 0.
"""

import numpy as np

RATE = 8000
MAX_LAG_S = 1.0  # a speaker's ffmpeg start-up, on a loaded machine
# A speaker alone scores ~1, one of two mixed ~0.7; unrelated speech stays
# under ~0.2 once both signals are pre-emphasised (see _whiten).
HEARD_THRESHOLD = 0.4


def _whiten(x):
    """Pre-emphasis: speech's strong low frequencies make unrelated
    utterances correlate; the first difference flattens the spectrum."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return x
    return np.concatenate(([0.0], x[1:] - 0.95 * x[:-1]))


def _best_ncc(heard, source, nominal_offset, lag_min_s=-MAX_LAG_S,
              lag_max_s=MAX_LAG_S):
    """max over lag in [lag_min, lag_max] of
    NCC(heard, source[nominal + lag : + len(heard)]), and that lag (s)."""
    n = len(heard)
    start = nominal_offset + int(lag_min_s * RATE)
    end = nominal_offset + n + int(lag_max_s * RATE)
    skip = 0
    if start < 0:
        skip = -start
        start = 0
    end = min(end, len(source))
    segment = _whiten(source[start:end])
    heard = _whiten(heard)
    if n < RATE // 2 or len(segment) < n:
        return 0.0, 0.0
    heard = heard - heard.mean()
    energy_h = float(np.dot(heard, heard))
    if energy_h <= 0:
        return 0.0, 0.0
    size = 1 << int(np.ceil(np.log2(len(segment) + n)))
    spectrum = np.fft.rfft(segment, size) * np.conj(np.fft.rfft(heard, size))
    correlation = np.fft.irfft(spectrum, size)[:len(segment) - n + 1]
    squares = np.concatenate(([0.0], np.cumsum(segment * segment)))
    sums = np.concatenate(([0.0], np.cumsum(segment)))
    window_energy = (squares[n:] - squares[:-n]) - (sums[n:] - sums[:-n])**2 / n
    window_energy = np.maximum(window_energy, 1e-9)
    ncc = correlation / np.sqrt(energy_h * window_energy)
    best = int(np.argmax(ncc))
    lag = (best - skip) / RATE + lag_min_s
    return float(ncc[best]), lag


def heard_speakers(heard, hears_at, sources, window, exclude=()):
    """Scores and the speakers detected in `heard` during `window`.

    heard: samples; hears_at: time of heard[0]; sources: speaker ->
    (samples, speaks_at or None if not speaking yet); window: (t1, t2).
    Returns ({speaker: score}, sorted list of speakers above threshold).
    """
    t1, t2 = window
    a = int(round((t1 - hears_at) * RATE))
    b = int(round((t2 - hears_at) * RATE))
    a, b = max(a, 0), min(b, len(heard))
    segment = heard[a:b]
    scores = {}
    for speaker, (source, speaks_at) in sources.items():
        if speaker in exclude or speaks_at is None or speaks_at > t1:
            continue
        # heard[a] arrived at hears_at + a/RATE; the speaker said it then.
        nominal = int(round((hears_at - speaks_at) * RATE)) + a
        scores[speaker] = round(_best_ncc(segment, source, nominal)[0], 3)
    detected = sorted(s for s, v in scores.items() if v >= HEARD_THRESHOLD)
    return scores, detected
