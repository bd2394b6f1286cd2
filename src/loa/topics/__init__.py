"""Topics (chủ đề) of information work, e.g. CCHC: one list shared by bulletins, programmes, the
activity registers and the reports' topic filter. The defaults are seeded by ``loa db upgrade``
(migration ``0003``); reading the list never writes."""
