"""Reliability checks that run both in the test suite (small counts) and in
``python -m pipelines reliability-report`` (bigger counts, one printed report):

* ``input_checks``: property-based checks (hypothesis) of the lyrics cleaner, the chunker,
  every importer and the exports with arbitrary text and bytes, plus fixed hostile inputs;
* ``pathological``: inputs built to make one analysis slow, timed in a subprocess;
* ``crash_loop``: a real ``analyze --playlist`` SIGKILLed at random points, many times;
* ``runner_race``: two runner processes on the same job;
* ``database_fault``: PostgreSQL stopped and restarted under a running job.

hypothesis is a development dependency: only ``input_checks`` needs it.
"""
