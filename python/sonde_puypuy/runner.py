"""Runs PuyPuy's Python checks unchanged, in one process, and writes their points for sonde.

    python3 runner.py --home <PuyPuy install dir> [--checks <dir>] [--interval <seconds>]

Every `check_*.py` of checks_enabled/ is imported once, with sonde's pushdata, record_rate, getconfig,
puylogger and basecheck (top level and as lib.*) ahead of the install's own, and a global `config`
(RawConfigParser over conf/*.ini). Every interval each check runs: `run_<name>()` (PuyPuy's original
checks), `runcheck()`, or `Check().runcheck()` (the later class-based checks). Points go to stdout as
JSON lines; the checks' own stdout goes to stderr. A check that fails to import or raises is reported
and the others go on. The checks dir is rescanned every run: new, changed and removed files are
picked up.
"""
import argparse
import signal
import sys

sys.dont_write_bytecode = True  # never litter checks_enabled/ or the installed package with __pycache__

import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SHIMS = os.path.join(HERE, 'shims')
PY2_MODULES = {'urllib2', 'httplib', 'StringIO', 'cStringIO', 'commands', 'cPickle', 'urlparse', 'Queue', 'HTMLParser', 'xmlrpclib', 'Cookie', 'cookielib', 'SocketServer', 'thread', 'exceptions'}
PY2_NAMES = {'unicode', 'xrange', 'basestring', 'long', 'raw_input', 'unichr', 'execfile', 'reduce', 'file', 'cmp'}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--home', required=True)
    ap.add_argument('--checks')
    ap.add_argument('--interval', type=float)
    ap.add_argument('--once', action='store_true')
    ap.add_argument('--timeout', type=float, help='seconds a check may run (default: 3 intervals, at least 30)')
    args = ap.parse_args()
    home = os.path.abspath(args.home)
    checks_dir = os.path.abspath(args.checks or os.path.join(home, 'checks_enabled'))

    # The protocol stream is a private copy of stdout; fd 1 becomes stderr so nothing a check prints
    # (or a program it starts) can corrupt it.
    out = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    sys.path[:0] = [SHIMS, os.path.dirname(HERE)]
    from sonde_puypuy import state
    state.setup(home, out)
    import lib  # sonde's lib package; the install's lib/ comes after it for the helpers sonde lacks
    own_lib = os.path.join(home, 'lib')
    if os.path.isdir(own_lib):
        lib.__path__.append(own_lib)
    for m in ('pushdata', 'record_rate', 'getconfig', 'puylogger', 'basecheck', 'lib.pushdata', 'lib.record_rate', 'lib.getconfig', 'lib.puylogger', 'lib.basecheck'):
        __import__(m)

    interval = args.interval
    if interval is None:
        try:
            interval = float(state.get('SelfConfig', 'check_period_seconds', '10'))
        except ValueError:
            interval = 10.0
    interval = max(interval, 0.05)
    timeout = args.timeout if args.timeout is not None else max(30.0, 3 * interval)
    if os.path.isdir(checks_dir):
        os.chdir(checks_dir)  # PuyPuy ran its checks from checks_enabled/
    loaded = {}  # file -> (mtime, module or None)
    while True:
        started = time.time()
        run_all(checks_dir, loaded, state, timeout)
        out.flush()
        if args.once:
            return 0
        time.sleep(max(0.0, interval - (time.time() - started) % interval))


def report(state, check, ok, stage=None, error=None):
    o = {'check': check, 'ok': ok}
    if stage:
        o['stage'] = stage
    if error:
        o['error'] = error
    state.emit(o)


def classify(e):
    """python2 when the failure is Python 2 code meeting Python 3, else the given stage."""
    if isinstance(e, SyntaxError) and not isinstance(e, IndentationError):
        return 'python2', 'Python 2 only syntax at line %s (%s): not run on Python 3; port it (2to3 -w FILE)' % (e.lineno, (e.text or '').strip()[:80])
    if isinstance(e, ImportError) and getattr(e, 'name', None) in PY2_MODULES:
        return 'python2', 'imports the Python 2 module %s: not run on Python 3; port it (2to3 -w FILE)' % e.name
    if isinstance(e, NameError):
        name = str(e).split("'")[1] if "'" in str(e) else ''
        if name in PY2_NAMES:
            return 'python2', 'uses the Python 2 builtin %s: port it (2to3 -w FILE)' % name
    return None, '%s: %s' % (type(e).__name__, e)


def load(path, name, state):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod.config = state.config  # PuyPuy's global config; a check that builds its own replaces it
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return mod


def entry(mod, name):
    short = name[len('check_'):] if name.startswith('check_') else name
    fn = getattr(mod, 'run_' + short, None)
    if callable(fn):
        return fn
    runs = [v for k, v in vars(mod).items() if k.startswith('run_') and callable(v) and getattr(v, '__module__', None) == mod.__name__]
    if len(runs) == 1:
        return runs[0]
    if callable(getattr(mod, 'runcheck', None)):
        return mod.runcheck
    cls = getattr(mod, 'Check', None)
    if isinstance(cls, type) and callable(getattr(cls, 'runcheck', None)):
        import lib.pushdata

        def run_class():
            j = lib.pushdata.JonSon()
            for b in cls().runcheck() or []:
                j.gen_data_json(b, b.get('host'), state_cluster())
            j.put_json()
        return run_class
    return None


def state_cluster():
    from sonde_puypuy import state
    return state.cluster_name


class CheckTimeout(BaseException):  # not caught by a check's own "except Exception"
    pass


def _alarm(signum, frame):
    raise CheckTimeout()


def run_all(checks_dir, loaded, state, timeout=0):
    try:
        names = sorted(n for n in os.listdir(checks_dir) if n.startswith('check_') and n.endswith('.py'))
    except OSError as e:
        report(state, os.path.basename(checks_dir), False, 'import', 'cannot read %s: %s' % (checks_dir, e))
        return
    for gone in set(loaded) - set(names):
        loaded.pop(gone, None)
        sys.modules.pop(gone[:-3], None)
    import pushdata
    for fname in names:
        path = os.path.join(checks_dir, fname)
        name = fname[:-3]
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        cached = loaded.get(fname)
        if cached is None or cached[0] != mtime:
            try:
                mod = load(path, name, state)
                fn = entry(mod, name)
                if fn is None:
                    loaded[fname] = (mtime, None)
                    report(state, name, False, 'import', 'no run_%s(), runcheck() or Check class' % name[len('check_'):])
                    continue
                loaded[fname] = (mtime, fn)
            except BaseException as e:  # noqa: B036 - a check must never stop the runner
                if isinstance(e, KeyboardInterrupt):
                    raise
                stage, msg = classify(e)
                loaded[fname] = (mtime, None)
                report(state, name, False, stage or 'import', msg)
                sys.stderr.write('%s: cannot load %s\n%s' % (name, path, traceback.format_exc(limit=3)))
                continue
        fn = loaded[fname][1]
        if fn is None:
            continue  # failed to load: reported once per version of the file
        # a check that hangs is interrupted (SIGALRM) so the others still run
        if timeout > 0:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            fn()
            signal.setitimer(signal.ITIMER_REAL, 0)
            pushdata.JonSon().put_json()  # points a check generated without put_json()
            report(state, name, True)
        except BaseException as e:  # noqa: B036
            signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(e, KeyboardInterrupt):
                raise
            pushdata.JonSon().truncate_data()
            if isinstance(e, CheckTimeout):
                stage, msg = 'timeout', 'still running after %g s: interrupted' % timeout
            else:
                stage, msg = classify(e)
            report(state, name, False, stage or 'run', msg)
            sys.stderr.write('%s failed\n%s' % (name, traceback.format_exc(limit=3)))
        state.flush()


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
