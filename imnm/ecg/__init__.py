"""12-lead ECG: the platform's waveform contract, vendor formats and synthesis."""
