"""PuyPuy's pushdata module, as sonde provides it: gen_data collects points, put_json hands them to
the sonde agent (which sends them to the configured outputs), truncate_data drops unsent ones."""
import sys

from sonde_puypuy import state

hostname = state.hostname
cluster_name = state.cluster_name
host_group = state.host_group
location = state.location
tsdb_type = state.get('TSDB', 'tsdtype', '')

_pending = []


def _point(name, timestamp, value, tag_hostname, check_type, tag_cluster, extra_tag=None):
    if isinstance(value, state.NoRate):
        return  # no rate yet: PuyPuy sent 0.0 (first sample) or 1.0 (counter went down); sonde sends nothing
    v = state.number(value)
    try:
        ts = float(timestamp)
    except (TypeError, ValueError):
        ts = 0
    ms = int(ts if ts > 1e11 else ts * 1000) if ts > 0 else None
    tags = {
        'host': str(tag_hostname if tag_hostname not in (None, '') else state.hostname),
        'cluster': str(tag_cluster if tag_cluster not in (None, '') else state.cluster_name),
        'group': str(state.host_group),
        'location': str(state.location),
        'type': str(check_type if check_type not in (None, '') else 'None'),
    }
    if isinstance(extra_tag, dict):
        for k, x in extra_tag.items():
            tags[str(k)] = str(x)
    tags = {k: x for k, x in tags.items() if x != ''}
    p = {'name': str(name), 'value': v if v is not None else str(value), 'tags': tags}
    if ms is not None:
        p['ts'] = ms
    _pending.append(p)


class JonSon(object):
    def __init__(self):
        self.data = _pending

    # PuyPuy 2016 spelled it create_data, later prepare_data: both start a batch.
    def create_data(self):
        pass

    prepare_data = create_data

    def gen_data(self, name, timestamp, value, tag_hostname=None, check_type=None, tag_cluster=None, reaction=0, extra_tag=None, *rest, **kw):
        if isinstance(reaction, dict) and extra_tag is None:
            extra_tag = reaction
        extra_tag = kw.get('extra_tag', extra_tag)
        _point(name, timestamp, value, tag_hostname, check_type, tag_cluster, extra_tag)

    def gen_data_json(self, b, tag_hostname=None, tag_cluster=None):
        """The later dict form: {'name', 'timestamp', 'value', 'check_type', 'extra_tag'}."""
        _point(b.get('name'), b.get('timestamp'), b.get('value'), b.get('host', tag_hostname), b.get('check_type', 'None'), tag_cluster, b.get('extra_tag'))

    def put_json(self, *args, **kw):
        for p in _pending:
            state.emit(p)
        del _pending[:]
        state.flush()

    def truncate_data(self):
        del _pending[:]

    def send_special(self, *args, **kw):
        # OddEye's health messages: no sonde equivalent (alerting rules replace them).
        pass


def print_error(*args):
    sys.stderr.write('error: ' + ' '.join(str(a) for a in args) + '\n')
