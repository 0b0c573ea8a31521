#!/usr/bin/env python3
"""A long-running tcollector-style collector: prints one line per interval and flushes each time.

Lines are `metric timestamp value tag=value`. Lives in 0/ so the agent keeps it running and respawns it.
"""
import os
import sys
import time

INTERVAL = float(os.environ.get("COLLECTION_INTERVAL", "15"))


def main():
    beats = 0
    while True:
        beats += 1
        print("example.heartbeat %d %d source=python" % (int(time.time()), beats))
        # Without a flush, Python holds lines in its buffer while stdout is a pipe.
        sys.stdout.flush()
        time.sleep(INTERVAL)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
