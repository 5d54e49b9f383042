"""``python -m devhost [--port 7071] [--host 127.0.0.1] [--app function_app:app] [--project-root DIR]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from devhost.host import serve


def main(argv: Sequence[str] | None = None) -> int:
    """Run the local host until SIGINT or SIGTERM; the exit code (0 after a clean stop)."""
    parser = argparse.ArgumentParser(prog="python -m devhost", description="Run the Functions app locally.")
    parser.add_argument("--port", type=int, default=7071, help="HTTP port (default 7071, 0 for any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--app", default="function_app:app", help="the FunctionApp as module:attribute")
    parser.add_argument("--project-root", type=Path, default=None, help="folder with host.json (default: this project)")
    options = parser.parse_args(argv)
    return serve(options.port, options.host, options.app, project_root=options.project_root)


if __name__ == "__main__":
    raise SystemExit(main())
