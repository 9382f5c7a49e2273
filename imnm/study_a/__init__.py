"""Study A (AI-ECG for LVD in IMNM): its parameters and its analyses as pure functions."""
