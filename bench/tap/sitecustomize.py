"""A tap for bench/echo_onsets.py, not part of the coach: with $VC_TAP_DIR set and this folder
on PYTHONPATH, a `voicecoach start` process records the frames its listener is fed and the
sentences its echo reference is given (with their stamps) into $VC_TAP_DIR/<pid>.npz at exit,
for replaying the echo canceller and the end-of-speech detector offline."""

import os

if os.environ.get("VC_TAP_DIR"):
    import atexit
    import threading

    import numpy as np

    _frames: list = []
    _starts: list = []
    _ends: list = []
    _lock = threading.Lock()

    from voicecoach.hearing import listener as _l
    from voicecoach.speaking import echo_reference as _r

    _feed = _l.Listener.feed

    def feed(self, frame, t_end):
        _frames.append((float(t_end), np.array(frame, dtype=np.int16)))
        return _feed(self, frame, t_end)

    _l.Listener.feed = feed
    _started = _r.EchoReference.started
    _finished = _r.EchoReference.finished

    def started(self, start, samples, sample_rate, text=""):
        with _lock:
            _starts.append(
                (float(start), np.array(samples, dtype=np.int16), int(sample_rate), text)
            )
        return _started(self, start, samples, sample_rate, text)

    def finished(self, end):
        with _lock:
            _ends.append((float(end), len(_starts)))
        return _finished(self, end)

    _r.EchoReference.started = started
    _r.EchoReference.finished = finished

    def _save():
        if not _frames:
            return
        path = os.path.join(os.environ["VC_TAP_DIR"], f"{os.getpid()}.npz")
        t = np.array([f[0] for f in _frames])
        sizes = np.array([f[1].size for f in _frames])
        audio = np.concatenate([f[1] for f in _frames])
        d = {
            "t": t,
            "sizes": sizes,
            "audio": audio,
            "ends": np.array([e[0] for e in _ends]),
            "ends_after": np.array([e[1] for e in _ends]),
        }
        d["s_start"] = np.array([s[0] for s in _starts])
        d["s_rate"] = np.array([s[2] for s in _starts])
        d["s_text"] = np.array([s[3] for s in _starts])
        d["s_len"] = np.array([s[1].size for s in _starts])
        d["s_audio"] = np.concatenate([s[1] for s in _starts]) if _starts else np.zeros(0, np.int16)
        np.savez_compressed(path, **d)

    atexit.register(_save)
