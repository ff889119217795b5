"""The worker: SLA timers and the notification outbox, run from the database.

``baton worker`` runs :func:`run_workers`; ``baton serve`` on SQLite runs one worker in its
own process with :func:`start_in_process`.
"""

from baton.worker.runner import BackgroundWorker, Worker, WorkerStats, run_workers, start_in_process

__all__ = ["BackgroundWorker", "Worker", "WorkerStats", "run_workers", "start_in_process"]
