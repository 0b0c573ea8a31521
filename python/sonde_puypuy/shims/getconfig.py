"""PuyPuy's getconfig module over the same ini files the runner read."""
from sonde_puypuy import state

config = state.config


def getparam(section, key):
    v = config.get(section, key)
    if v == 'True':
        return True
    if v == 'False':
        return False
    return v


def getsection(section):
    return config.options(section)


def getsectionitems(section):
    return {o: config.get(section, o) for o in config.options(section)}
