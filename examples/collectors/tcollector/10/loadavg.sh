#!/bin/sh
# An interval tcollector-style collector: lives in 10/, so it runs every 10 seconds and exits.
# Prints the load averages as `metric timestamp value`.
now=$(date +%s)
read one five fifteen rest < /proc/loadavg || exit 13  # no /proc: ask never to be restarted
echo "proc.loadavg.1min $now $one"
echo "proc.loadavg.5min $now $five"
echo "proc.loadavg.15min $now $fifteen"
