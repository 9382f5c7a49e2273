"""Staging rules: reading the centres' table files and mapping them to the staging schema,
and comparing a corrected re-delivery with what it corrects."""
