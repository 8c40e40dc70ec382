"""Uploads as jobs: the PostgreSQL queue, one job's work, and the workers that run it.

- :mod:`aphos_lib.jobs.queue`: enqueue (with NOTIFY), claim (``FOR UPDATE SKIP LOCKED``,
  takeover of a dead worker's job), heartbeat, finish, retry, in_flight;
- :mod:`aphos_lib.jobs.storage`: where uploaded files wait for their job, under
  server-generated names;
- :mod:`aphos_lib.jobs.upload`: what one job does, file by file (the job notebook calls it);
- :mod:`aphos_lib.jobs.kernels`: warm kernels, started and primed before a job comes;
- :mod:`aphos_lib.jobs.runner`: one worker process: claims jobs and runs the notebook with
  papermill (``python -m aphos_lib.jobs.runner``);
- :mod:`aphos_lib.jobs.pool`: N worker processes kept running (the hub's ``worker`` service).
"""
