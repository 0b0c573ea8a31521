from basecheck import *  # noqa: F401,F403
from basecheck import CheckBase  # noqa: F401
