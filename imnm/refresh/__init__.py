"""One refresh run as the stages share it: its context, bookkeeping, input fingerprint and
summary."""
