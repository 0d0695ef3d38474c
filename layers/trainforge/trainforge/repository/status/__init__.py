"""The one door for a status: every statement that writes the status of a training job, a tuning job or a
container build, or a step of a job's status history, is in this package, and nowhere else
(``tests/unit/test_status_door.py`` reads every module's SQL to keep it so). Each is one guarded statement that
moves a status only forward and says whether it moved: what hangs on a change of status (notifications)
hangs here.

- :mod:`.jobs`: SageMaker's reports applied, a job recorded Pending or Rejected, sent, ended before it ran;
- :mod:`.queue`: waiting for capacity and being admitted (each with the pool's or the team's count in the same
  statement), requeued after SageMaker's refusal, failed past its wait;
- :mod:`.tuning`, :mod:`.builds`: the same for tuning jobs and container builds.
"""
