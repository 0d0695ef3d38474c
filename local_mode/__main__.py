"""`python -m local_mode demo` runs the demo; `python -m local_mode serve` keeps local mode up for interactive use."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from local_mode import demo
from local_mode.environment import LocalMode


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local_mode", description="Trainforge on one machine")
    parser.add_argument("command", choices=["demo", "serve"])
    parser.add_argument("--work-dir", type=Path, default=Path(".local"), help="where local state lives")
    parser.add_argument("--port", type=int, default=8080, help="API port for serve")
    args = parser.parse_args()
    if args.command == "demo":
        return demo.main(args.work_dir)
    with LocalMode(args.work_dir, api_port=args.port, log=demo.say) as mode:
        assert mode.api is not None and mode.aws is not None
        demo.say(f"\nTrainforge API: {mode.api.url}   (Swagger UI: {mode.api.url}/swagger)")
        demo.say(f"AWS emulator:   {mode.aws.endpoint_url}   (AWS_ENDPOINT_URL for the aws CLI and boto3)")
        demo.say("Ctrl-C stops.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            demo.say("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
