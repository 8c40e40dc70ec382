"""The job queue's statements, looked at without running them (aphos_lib.queries.jobs)."""

from __future__ import annotations

import dataclasses
import re

from aphos_lib.jobs.queue import Job
from aphos_lib.queries import jobs


def words(text: str) -> str:
    return " ".join(text.split())


def test_a_claim_skips_the_jobs_another_claim_has_locked_instead_of_waiting():
    text = words(jobs.candidate(heartbeat_timeout=30).text())
    assert text.endswith("ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")  # the oldest, one


def test_a_job_is_taken_over_only_when_running_without_a_heartbeat_for_the_timeout():
    q = jobs.candidate(heartbeat_timeout=45.5)
    where = words(q.text()).split(" WHERE ")[1].split(" ORDER BY ")[0]
    assert where == (
        "state = 'queued' OR (state = 'running'"
        " AND heartbeat_at < clock_timestamp() - make_interval(secs => %s))"
    )
    assert q.params == (45.5,)


def test_taking_a_job_counts_an_attempt_and_returns_the_fields_of_a_job_in_order():
    q = jobs.take(7, "host:12")
    text = words(q.text())
    assert "attempts = attempts + 1, worker = %s" in text
    assert "heartbeat_at = clock_timestamp()" in text
    assert q.params == ("host:12", 7)
    returned = text.split("RETURNING ")[1].split(", ")
    # Job's attempt is the row's attempts after the claim; every other field is its column.
    fields = [f.name for f in dataclasses.fields(Job)]
    assert [{"attempts": "attempt"}.get(c, c) for c in returned] == fields


def test_a_worker_changes_its_job_only_while_the_row_names_it_at_its_attempt():
    owned = "WHERE id = %s AND worker = %s AND attempts = %s AND state = 'running'"
    beat = jobs.heartbeat(7, "host:12", 2, files_done=3)
    again = jobs.requeue(7, "host:12", 2, "boom", None)
    lock = jobs.lock_owned(7, "host:12", 2)
    for q in (beat, again, lock):
        assert owned in q.text()
        assert q.params[-3:] == (7, "host:12", 2)
    assert lock.text().endswith("FOR UPDATE")
    assert "state = 'queued', worker = NULL, heartbeat_at = NULL" in again.text()


def test_each_statement_has_as_many_placeholders_as_parameters():
    built = [
        jobs.enqueue(9),
        jobs.notify("aphos_ingest_job", 7),
        jobs.candidate(60),
        jobs.take(7, "w"),
        jobs.heartbeat(7, "w", 1, None),
        jobs.lock_owned(7, "w", 1),
        jobs.requeue(7, "w", 1, "boom", "reports/7.ipynb"),
        jobs.close(7, "done", None, None),
        jobs.close_upload(9),
        jobs.in_flight(3),
        jobs.depth(),
    ]
    for q in built:
        assert len(re.findall(r"%s", q.text())) == len(q.params or ()), q.text()


def test_an_upload_ends_stored_only_when_every_file_is_in_the_catalogue():
    text = words(jobs.close_upload(9).text())
    assert "WHEN f.ok = j.files_total AND j.files_total > 0 THEN 'stored'" in text
    assert "status IN ('stored', 'duplicate')" in text
