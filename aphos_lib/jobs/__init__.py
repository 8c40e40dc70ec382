"""Uploads as jobs: the PostgreSQL queue, one job's work, and the worker loop that runs it.

- :mod:`aphos_lib.jobs.queue`: enqueue, claim (``FOR UPDATE SKIP LOCKED``), heartbeat, finish;
- :mod:`aphos_lib.jobs.upload`: what one job does, file by file (the notebook calls it);
- :mod:`aphos_lib.jobs.runner`: a worker process: claims jobs and runs the notebook.
"""
