"""The scheduler process (`flask --app webhooks cpoint scheduler`, the Procfile's `scheduler`):
APScheduler 3 in Asia/Seoul, never inside the web workers.

- leader.py  the leader lease (one scheduler runs jobs; a second one waits and takes over)
- runs.py    JobRun: each (job, period) runs once, whatever restarts or extra schedulers do
- jobs.py    what the jobs do: monthly results, payout notices and reminders, broadcasts
- clock.py   the APScheduler wiring, catch-up of missed runs within each job's grace
"""
