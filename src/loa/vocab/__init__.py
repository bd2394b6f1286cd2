"""Shared vocabulary: the Vietnamese words and formats several domains use, owned here so that they
import it downward instead of from each other. Pure: no database, no web, no I/O.

- ``numbers``: numbers as people read them (``1.234,5``; ``12,5 %``; counts ``08``; sizes ``4m x 6m``);
- ``dates``: dates (``15/03/2024``);
- ``period``/``periodform``: reporting periods (year, half, quarter, month, range) and how forms pick them;
- ``cells``: the kinds of value a table column holds (sheets, pages, CSV);
- ``ladder``: the priority ladder's labels and colours;
- ``text``: folding text typed by people for matching (``Băng rôn`` → ``bang ron``).

Report prose (section I of a report) stays in ``loa.reports.wording``; topics are ``loa.topics``.
"""
