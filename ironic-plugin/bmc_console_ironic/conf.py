"""The plugin's options: group ``[bmc_console]`` in Ironic's configuration (oslo.config)."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    name='bmc_console',
    title='bmc-console console provider',
    help='How the conductor reaches the bmc-console host agent '
         '([vnc]container_provider = bmc-console).')

DEFAULT_AGENT_URL = 'unix:/run/bmc-console-agent/agent.sock'

opts = [
    cfg.StrOpt('agent_url',
               default=DEFAULT_AGENT_URL,
               help='The bmc-console agent\'s HTTP API: "unix:/path/to/agent.sock" '
                    '(a unix socket), or "https://host:port" / "http://host:port" over TCP '
                    '(then credential_file is required).'),
    cfg.StrOpt('credential_file',
               help='File holding the agent\'s API key, sent as "Authorization: Bearer <key>". '
                    'Required when agent_url is TCP; optional for a unix socket. Read on every '
                    'request, so the key can be rotated without restarting the conductor. Keep it '
                    'readable by the conductor\'s user only.'),
    cfg.StrOpt('ca_file',
               help='CA bundle to verify the agent\'s TLS certificate (https agent_url). Default: the '
                    'system\'s CAs.'),
    cfg.FloatOpt('timeout',
                 default=120.0,
                 min=0.1,
                 help='Seconds to wait for one answer of the agent. A start answers once the console\'s '
                      'VNC server is up, so keep this above the agent\'s wait_for_ready_timeout '
                      '(and kubernetes_pod_timeout with the kubernetes provider).'),
    cfg.BoolOpt('vnc_password',
                default=False,
                help='Ask the agent for a per-console VNC password. Leave False when Ironic\'s own '
                     'ironic-novncproxy serves the console URLs: it speaks only RFB security type '
                     'None to the console. Set True when [vnc]public_url points at the bmc-console '
                     'proxy, which answers the VNC authentication itself.'),
]


def register_opts(conf):
    """Register the group and its options on ``conf`` (safe to call more than once)."""
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    """The ``oslo.config.opts`` entry point (oslo-config-generator --namespace bmc-console-ironic)."""
    return [(GROUP, opts)]
