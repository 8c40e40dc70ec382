"""Uploads: files an observer sends, kept until the ingest job that stores them has run.

- :mod:`~aphos_lib.uploads.receive`: a multipart body streamed to the files that wait for
  their job (:mod:`aphos_lib.jobs.storage`);
- :mod:`~aphos_lib.uploads.records`: the upload, its files and its job, created together;
- :mod:`~aphos_lib.uploads.status`: state, progress, per-file outcomes, the upload log;
- :mod:`~aphos_lib.uploads.cleanup`: files of uploads that were never recorded;
- :mod:`~aphos_lib.uploads.client`: the api service's upload endpoints from a notebook
  (``aphos_lib.upload``).
"""
