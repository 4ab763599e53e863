"""Hearing: microphone frames in, the person's commands out, as IntentHeard on the session's
event queue. The path one 20 ms frame takes:

    microphone (audio) -> echo removal (echo) -> voice activity, end of speech (listener)
      -> engine (asr/: Whisper, Vosk or PocketSphinx, with voicing) -> grammar (grammar)
      -> intent, gated against the coach's own voice (listener) -> the session's event queue

Beside the path: WAV files in (wavio) for `recognize` and the tests, and the models the engines
load (model_fetch). Nothing here knows the session; app.py wires it to the microphone.
"""
