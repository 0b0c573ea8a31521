from puylogger import *  # noqa: F401,F403
from puylogger import debug_log, print_message, print_raw_message, print_error  # noqa: F401
