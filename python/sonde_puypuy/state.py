"""State shared by the runner and the PuyPuy-compatible modules: settings, the output, rate memory."""
import configparser
import glob
import json
import os
import socket
import sys

# Filled in by the runner before any check is imported.
home = os.getcwd()
config = configparser.RawConfigParser()
hostname = socket.getfqdn()
cluster_name = ''
host_group = ''
location = ''
_out = sys.stdout


def setup(install_dir, out):
    """Reads PuyPuy's ini files (conf/*.ini, config.ini first; or an old top-level config.ini)."""
    global home, hostname, cluster_name, host_group, location, _out
    home = install_dir
    _out = out
    files = sorted(glob.glob(os.path.join(install_dir, 'conf', '*.ini')), key=lambda f: (os.path.basename(f) != 'config.ini', f))
    if not files and os.path.isfile(os.path.join(install_dir, 'config.ini')):
        files = [os.path.join(install_dir, 'config.ini')]
    config.read(files)
    short = get('SelfConfig', 'shorthostname', 'no').strip().lower()
    hostname = socket.gethostname() if short in ('yes', 'true', '1', 'on') else socket.getfqdn()
    cluster_name = get('SelfConfig', 'cluster_name', '')
    host_group = get('SelfConfig', 'host_group', '')
    location = get('SelfConfig', 'location', '')
    return files


def get(section, key, default=None):
    try:
        return config.get(section, key)
    except (configparser.NoSectionError, configparser.NoOptionError):
        return default


def emit(obj):
    """One JSON object per line on the runner's protocol stream (not the checks' stdout)."""
    _out.write(json.dumps(obj, separators=(',', ':')) + '\n')


def flush():
    _out.flush()


class NoRate(float):
    """What record_value_rate returns when there is no rate yet (first sample, counter went down,
    no time passed): a number the check can still compute with, but gen_data sends no point for it."""


def number(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:
        text = str(value).strip()
        return int(text) if text.lstrip('+-').isdigit() else float(text)
    except (TypeError, ValueError):
        return None
