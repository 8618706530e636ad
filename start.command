#!/bin/sh
# Transfer Studio on macOS: double-click this file. The first start sets up .venv (a few minutes), then the app
# opens in the browser. Needs Python 3.10 or newer from https://www.python.org/downloads/ and nothing else.
cd "$(dirname "$0")" || exit 1
if ! command -v python3 >/dev/null 2>&1; then
  echo "Python 3 was not found on this Mac: install Python 3.10 or newer from https://www.python.org/downloads/, then double-click start.command again."
  exit 1
fi
exec python3 launch.py "$@"
