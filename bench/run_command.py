"""What the bench scripts share: running one measured program and stopping on its failure."""

import subprocess
import sys


def stdout_of(command):
    """The stdout of `command`; exits with a one-line message when it cannot run or fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        sys.exit(f"cannot run {command[0]}: {error}")
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout
