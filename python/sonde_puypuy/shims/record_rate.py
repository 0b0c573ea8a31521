"""PuyPuy's record_rate module, as sonde provides it: per-second rates of ever-growing counters,
remembered across runs (one runner process keeps them)."""
from sonde_puypuy import state

last_value = {}
prev_value = {}


class ValueRate(object):
    metrics_value_rate = 0.0

    def __init__(self):
        self.metrics_value_rate = 0.0

    def record_value_rate(self, mytype, myvalue, timestamp):
        v = state.number(myvalue)
        if v is None:
            return state.NoRate(0.0)
        prev = last_value.get(mytype)
        last_value[mytype] = (v, timestamp)
        if prev is None:
            return state.NoRate(0.0)
        dv = v - prev[0]
        dt = timestamp - prev[1]
        if dt <= 0 or dv < 0:
            return state.NoRate(0.0)
        return float('{:.2f}'.format(dv / float(dt)))

    def record_value_delta(self, mytype, myvalue):
        v = state.number(myvalue)
        if v is None:
            return state.NoRate(0.0)
        prev = last_value.get(mytype + '\0delta')
        last_value[mytype + '\0delta'] = v
        if prev is None:
            return state.NoRate(0.0)
        return float('{:.2f}'.format(v - prev))

    def update_timestamp(self, timestamp):
        pass


class GetPrevValue(object):
    def return_last_value(self, mytype, myvalue):
        last = prev_value.get(mytype, 0.0)
        prev_value[mytype] = myvalue
        return last
