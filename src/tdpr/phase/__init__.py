"""Phase sources: functions from a magnitude spectrogram and its context to a phase."""
