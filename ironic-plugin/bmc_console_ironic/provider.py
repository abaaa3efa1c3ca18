"""Ironic console container provider ``bmc-console``: consoles started and stopped by the bmc-console agent.

Ironic 29's graphical console interface calls ``start_container(task, app_name, app_info)`` and stores the
returned ``(host, port)`` as the node's ``vnc_host``/``vnc_port``; its noVNC proxy (or ours) connects there.
``app_info`` (the node's parsed ``redfish_*`` driver_info, BMC password included) goes to the agent in the
request body only: it is never logged, never put in an error message, never written to a file here.
"""

import logging

from ironic.common import exception
from ironic.conf import CONF
from ironic.console.container import base

from bmc_console_ironic import conf as bmc_conf
from bmc_console_ironic.client import AgentClient, AgentError

LOG = logging.getLogger(__name__)

PROVIDER = 'bmc-console'

bmc_conf.register_opts(CONF)


def _scrub(message, app_info):
    """Defence in depth: the agent's messages never hold secrets, but a BMC password must not reach
    Ironic's last_error or logs even if one did."""
    if isinstance(app_info, dict):
        value = app_info.get('password')
        if isinstance(value, str) and len(value) >= 3 and value in message:
            message = message.replace(value, '***')
    return message


class BmcConsoleContainer(base.BaseConsoleContainer):
    """Starts each node's console through the bmc-console host agent's HTTP API."""

    def __init__(self):
        try:
            self._client = self._make_client()
        except AgentError as e:
            raise exception.ConsoleContainerError(provider=PROVIDER, reason=str(e)) from None

    @staticmethod
    def _make_client():
        opts = CONF.bmc_console
        return AgentClient(opts.agent_url, credential_file=opts.credential_file, timeout=opts.timeout,
                           ca_file=opts.ca_file)

    @staticmethod
    def _error(err, node=None, app_info=None):
        reason = _scrub(str(err), app_info)
        if node and node not in reason:
            reason = f'node {node}: {reason}'
        return exception.ConsoleContainerError(provider=PROVIDER, reason=reason)

    def start_container(self, task, app_name, app_info):
        """Ask the agent to start the node's console; return the (host, port) of its VNC server.

        Blocks until the agent answers, i.e. until the console's VNC server sends its RFB greeting.

        :raises: ConsoleContainerError with the agent's message
        """
        node = task.node.uuid
        body = {
            'node': node,
            'app': app_name,
            'appInfo': app_info,
            'readOnly': bool(CONF.vnc.read_only),
            'vncPassword': bool(CONF.bmc_console.vnc_password),
        }
        LOG.debug('Asking the bmc-console agent at %s to start the %s console of node %s',
                  self._client.url, app_name, node)
        try:
            _status, answer = self._client.request('POST', '/v1/consoles', body)
        except AgentError as e:
            LOG.error('bmc-console agent could not start the console of node %s: %s',
                      node, _scrub(str(e), app_info))
            raise self._error(e, node, app_info) from None
        host = answer.get('host') if isinstance(answer, dict) else None
        port = answer.get('port') if isinstance(answer, dict) else None
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if (not isinstance(host, str) or not host or isinstance(port, bool) or not isinstance(port, int)
                or not 0 < port < 65536):
            raise self._error('the agent answered the start without a valid host and port', node)
        LOG.info('bmc-console agent started the console of node %s at %s:%s', node, host, port)
        return host, port

    def stop_container(self, task):
        """Ask the agent to stop the node's console. A console the agent does not know is already stopped.

        :raises: ConsoleContainerError with the agent's message
        """
        node = task.node.uuid
        try:
            self._client.request('DELETE', AgentClient.node_path(node))
        except AgentError as e:
            if e.kind == 'not-found':
                LOG.debug('bmc-console agent has no console for node %s: nothing to stop', node)
                return
            LOG.error('bmc-console agent could not stop the console of node %s: %s', node, e)
            raise self._error(e, node) from None
        LOG.info('bmc-console agent stopped the console of node %s', node)

    def stop_all_containers(self):
        """Ask the agent to stop every console it started (run at conductor start and shutdown).

        :raises: ConsoleContainerError with the agent's message
        """
        try:
            _status, answer = self._client.request('DELETE', '/v1/consoles')
        except AgentError as e:
            LOG.error('bmc-console agent could not stop all consoles: %s', e)
            raise self._error(e) from None
        stopped = answer.get('stopped') if isinstance(answer, dict) else None
        LOG.info('bmc-console agent stopped all consoles (%s)',
                 len(stopped) if isinstance(stopped, list) else 'count unknown')
