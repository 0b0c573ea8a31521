"""PuyPuy's logger: messages go to stderr, which sonde logs."""
import sys

from sonde_puypuy import state

debug_log = str(state.get('SelfConfig', 'debug_log', 'False')).strip().lower() in ('true', 'yes', '1')


def print_message(message):
    if debug_log:
        sys.stderr.write(str(message) + '\n')


def print_raw_message(message):
    print_message(message)


def print_error(module, e):
    sys.stderr.write('%s: %s\n' % (module, e))
