"""``python -m local_mode serve|demo|stop|reset|status``: local mode's verbs (``make local``, ``make demo``,
``make stop``, ``make reset``).

``serve`` keeps its state in the work folder (``.local``) across stops and starts, on fixed ports; ``demo`` runs in
a state of its own (``.local/demo``), new each time. Both stop cleanly on SIGINT, SIGTERM and SIGHUP, whether the
signal is sent to them or to their process group, and also when started in the background, where the shell has
SIGINT ignored: the handlers are installed whatever was inherited.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import select
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import NoReturn

from local_mode import demo, housekeeping
from local_mode.environment import LocalMode, LocalModeError
from trainforge.local.discovery import DEFAULT_WORK_FOLDER

DEFAULT_API_PORT = 8080
DEFAULT_AWS_PORT = 8090
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(BaseException):
    """A stop signal arrived: unwinds whatever runs (a ``with LocalMode`` stops everything on the way out).
    A BaseException, as KeyboardInterrupt is, so no ``except Exception`` swallows it."""


def stop_on_signals() -> None:
    """The first signal stops local mode; later ones only say it is stopping (the stop must not be cut short:
    it stops PostgreSQL and saves the emulator's state). ``kill -9`` still ends it at once, and the next start
    recovers."""

    def stopping(signum: int, _frame: FrameType | None) -> None:
        for each in STOP_SIGNALS:
            signal.signal(each, still_stopping)
        raise StopRequested(signal.Signals(signum).name)

    def still_stopping(signum: int, _frame: FrameType | None) -> None:
        demo.say(
            f"still stopping ({signal.Signals(signum).name} ignored); `kill -9 {os.getpid()}` ends it at once"
        )

    for each in STOP_SIGNALS:
        signal.signal(each, stopping)
    # `kill -USR1 <pid>` prints every thread's stack: where a stop that does not end is waiting.
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def wait_for_signals() -> NoReturn:
    """Sleep until a signal comes, whichever thread the kernel hands it to. Python runs its handlers in the main
    thread only, and a signal the kernel gave to another thread (the emulator's, the router's: most of them) does
    not interrupt the main thread's sleep: ``time.sleep(3600)`` slept through a stop signal, until its hour was up.
    The C-level handler writes every signal to the wakeup fd, so a main thread waiting on it wakes, and the
    handler (which raises :class:`StopRequested`) runs right after."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        while True:
            select.select([reader], [], [])
            reader.recv(64)
    finally:
        signal.set_wakeup_fd(-1)
        reader.close()
        writer.close()


def port_setting(value: int | None, variable: str, default: int) -> int:
    return value if value is not None else int(os.environ.get(variable, default))


def serve(work_dir: Path, api_port: int, aws_port: int) -> int:
    try:
        with LocalMode(work_dir, api_port=api_port, aws_port=aws_port, keep_state=True, log=demo.say) as mode:
            assert mode.api is not None and mode.aws is not None
            demo.say(f"\nTrainforge API: {mode.api.url}   (Swagger UI: {mode.api.url}/swagger)")
            demo.say(f"Web console:    {mode.api.url}/console/")
            demo.say(
                f"AWS emulator:   {mode.aws.endpoint_url}   (AWS_ENDPOINT_URL for the aws CLI and boto3)"
            )
            demo.say(f"State kept in {mode.work_dir}. Ctrl-C or `make stop` stops; `make reset` wipes it.")
            wait_for_signals()
    except StopRequested as signalled:
        demo.say(f"stopped ({signalled}): nothing left running")
        return 0
    except LocalModeError as refused:
        demo.say(f"local mode did not start: {refused}")
        return 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local_mode", description="Trainforge on one machine")
    parser.add_argument("command", choices=["demo", "serve", "stop", "reset", "status", "backup", "restore"])
    parser.add_argument("archive", nargs="?", type=Path, help="backup: where to write; restore: what to read")
    parser.add_argument(
        "--work-dir", type=Path, default=Path(DEFAULT_WORK_FOLDER), help="where local state lives"
    )
    parser.add_argument("--port", type=int, default=None,
                        help=f"the API's port for serve (TRAINFORGE_LOCAL_API_PORT, else {DEFAULT_API_PORT})")  # fmt: skip
    parser.add_argument("--aws-port", type=int, default=None,
                        help=f"the AWS emulator's port for serve (TRAINFORGE_LOCAL_AWS_PORT, else {DEFAULT_AWS_PORT})")  # fmt: skip
    args = parser.parse_intermixed_args()  # the archive may follow --work-dir
    if args.command == "stop":
        return housekeeping.stop(args.work_dir, demo.say)
    if args.command == "reset":
        return housekeeping.reset(args.work_dir, demo.say)
    if args.command == "status":
        return housekeeping.status(args.work_dir, demo.say)
    if args.command == "backup":
        return housekeeping.backup(args.work_dir, args.archive, demo.say)
    if args.command == "restore":
        if args.archive is None:
            parser.error(
                "restore needs the archive: python -m local_mode restore FILE (make restore FILE=...)"
            )
        return housekeeping.restore(args.work_dir, args.archive, demo.say)
    stop_on_signals()
    if args.command == "demo":
        try:
            return demo.main(args.work_dir / "demo")
        except StopRequested as signalled:
            demo.say(f"\nDemo stopped ({signalled}): nothing left running")
            return 128 + signal.Signals[str(signalled)].value
    api_port = port_setting(args.port, "TRAINFORGE_LOCAL_API_PORT", DEFAULT_API_PORT)
    aws_port = port_setting(args.aws_port, "TRAINFORGE_LOCAL_AWS_PORT", DEFAULT_AWS_PORT)
    return serve(args.work_dir, api_port, aws_port)


if __name__ == "__main__":
    sys.exit(main())
