"""Python 2's ConfigParser module name, for checks written for Python 2 that only differ in it."""
from configparser import *  # noqa: F401,F403
from configparser import RawConfigParser, ConfigParser  # noqa: F401

SafeConfigParser = ConfigParser
