"""Hearing: microphone frames in, the person's commands out, as IntentHeard on the session's
event queue. The path one 20 ms frame takes:

    microphone (audio) -> echo removal (echo) -> voice activity, end of speech (endpoint)
      -> engine (asr/: Whisper, Vosk or PocketSphinx; voicing) -> grammar (grammar) -> intent
      -> the gate against the coach's own voice (gate) -> the session's event queue (listener)

Beside the path: WAV files in (wavio) for `recognize` and the tests, and the Vosk model the
engines may load (model_manifest, model_fetch, model_unpack). Nothing here knows the session;
app.py wires it to the microphone.
"""
