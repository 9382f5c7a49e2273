"""Study B's per-release HTML report (pure rendering of the release's result tables):
`html.render_report`, its figures in `figures.py`."""
