"""Speaking: the dialog's words in, the coach's voice out. `speaker.Speaker` renders each
sentence (pyttsx3), plays it interruptibly through an output device, posts SpeechStarted and
SpeechFinished to the session's event queue, and keeps what it played as the echo reference
the listener takes back out of the microphone.
"""
