from record_rate import *  # noqa: F401,F403
from record_rate import ValueRate, GetPrevValue, last_value, prev_value  # noqa: F401
