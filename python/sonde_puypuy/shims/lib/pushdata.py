from pushdata import *  # noqa: F401,F403
from pushdata import JonSon, print_error, hostname, cluster_name, host_group, location  # noqa: F401
