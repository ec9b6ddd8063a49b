"""Lab hosts: runs spread over many machines through a kept task queue (Celery on Redis).

- settings: the broker, the lease, the longest job; the queue a job goes to
- queue: the Celery app and its one task (a job)
- job: what a worker does with a job: claim it in the record, reserve a unit, run it
- worker: `harness worker`: a lab host serving the models and capacity of its own inventory
- campaign: `harness campaign`: plan jobs, submit, follow them across hosts, write every report
- progress: the campaign's table (live on a terminal, plain lines in CI)

The record (harness.results) decides who runs what; the broker only carries the messages.
"""
