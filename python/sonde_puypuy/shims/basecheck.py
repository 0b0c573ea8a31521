"""PuyPuy's later class-based checks (class Check(lib.basecheck.CheckBase) with precheck())."""
import time

import lib.pushdata
import lib.record_rate
from sonde_puypuy import state


class CheckBase(object):
    check_type = 'base'
    values_type = 'none'
    local_vars = []
    rate = lib.record_rate.ValueRate()
    last = lib.record_rate.GetPrevValue()
    jsondata = lib.pushdata.JonSon()
    metrics = []

    def __init__(self):
        self.cluster_name = state.cluster_name
        self.host_group = state.host_group
        self.location = state.location
        try:
            self.error_handler = int(state.get('SelfConfig', 'error_handler', '2'))
        except ValueError:
            self.error_handler = 2
        self.timestamp = int(time.time())

    def precheck(self):
        pass

    def runcheck(self):
        self.local_vars = []
        self.precheck()
        for k in self.local_vars:
            if 'host' not in k:
                k['host'] = state.hostname
        return self.local_vars
