"""Speaking: the dialog's words in, the coach's voice out. `speaker.Speaker` takes a cue's words
sentence by sentence: `render` turns each into audio (pyttsx3), `output` plays it interruptibly
through the sound device, and `echo_reference` keeps what was played, and when, for the listener
to take back out of the microphone. SpeechStarted and SpeechFinished go to the session's queue.
"""
