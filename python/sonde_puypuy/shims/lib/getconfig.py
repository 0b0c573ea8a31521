from getconfig import *  # noqa: F401,F403
from getconfig import config, getparam, getsection, getsectionitems  # noqa: F401
