"""A small client of the bmc-console agent's HTTP API, with the Python standard library only.

``agent_url`` is ``unix:/path/agent.sock`` (also ``unix:///path``), ``http://host:port`` or
``https://host:port`` (an optional path prefix is kept). Over TCP every request carries
``Authorization: Bearer <key>`` with the key read from ``credential_file``.

Nothing here logs or formats a request body: the body of a start holds the BMC's credentials.
"""

import errno
import http.client
import json
import os
import socket
import ssl
from urllib.parse import quote, urlsplit

MAX_ANSWER = 1 << 20  # an agent's answer is a few hundred bytes; refuse anything absurd


class AgentError(Exception):
    """The agent could not be reached, refused the request or answered nonsense.

    ``kind`` is the agent's error kind (``invalid``, ``not-found``, ``provider``, ``internal``) or one of
    ours (``config``, ``unreachable``, ``timeout``, ``protocol``); ``status`` the HTTP status, if any.
    ``str(err)`` never holds a request body.
    """

    def __init__(self, message, kind='internal', status=None):
        super().__init__(message)
        self.kind = kind
        self.status = status


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__('localhost', timeout=timeout)
        self._socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class AgentClient:
    def __init__(self, agent_url, credential_file=None, timeout=120.0, ca_file=None):
        self.url = agent_url
        self.credential_file = credential_file
        self.timeout = float(timeout)
        self.ca_file = ca_file
        self._socket_path = None
        self._prefix = ''
        if not agent_url:
            raise AgentError('[bmc_console]agent_url is empty', kind='config')
        if agent_url.startswith('unix:'):
            path = agent_url[len('unix:'):]
            if path.startswith('//'):
                path = path[2:]
            if not path.startswith('/'):
                raise AgentError(f'[bmc_console]agent_url {agent_url!r}: a unix socket needs an absolute '
                                 f'path (unix:/run/bmc-console-agent/agent.sock)', kind='config')
            self.scheme = 'unix'
            self._socket_path = path
        else:
            parts = urlsplit(agent_url)
            if parts.scheme not in ('http', 'https') or not parts.hostname:
                raise AgentError(f'[bmc_console]agent_url {agent_url!r}: expected unix:/path, '
                                 f'http://host:port or https://host:port', kind='config')
            if parts.username or parts.password or parts.query or parts.fragment:
                raise AgentError('[bmc_console]agent_url must not carry credentials, a query or a '
                                 'fragment (the API key goes in credential_file)', kind='config')
            try:
                port = parts.port
            except ValueError:
                raise AgentError(f'[bmc_console]agent_url {agent_url!r}: bad port', kind='config') from None
            self.scheme = parts.scheme
            self._host = parts.hostname
            self._port = port
            self._prefix = parts.path.rstrip('/')
            if not credential_file:
                raise AgentError(f'[bmc_console]credential_file must be set: the agent at {agent_url} '
                                 f'is reached over TCP and needs an API key', kind='config')

    @property
    def is_tcp(self):
        return self.scheme != 'unix'

    def _api_key(self):
        if not self.credential_file:
            return None
        try:
            with open(self.credential_file, encoding='utf-8') as f:
                key = f.read().strip()
        except OSError as e:
            raise AgentError(f'cannot read the agent API key file [bmc_console]credential_file '
                             f'{self.credential_file}: {e.strerror or e.__class__.__name__}',
                             kind='config') from None
        if not key or any(c in key for c in '\r\n'):
            raise AgentError(f'the agent API key file {self.credential_file} is empty or holds more '
                             f'than one line', kind='config')
        return key

    def _connection(self):
        if self.scheme == 'unix':
            return _UnixHTTPConnection(self._socket_path, self.timeout)
        if self.scheme == 'https':
            context = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    @staticmethod
    def node_path(node):
        return '/v1/consoles/' + quote(str(node), safe='')

    def request(self, method, path, body=None):
        """Send one request; return ``(status, decoded JSON or None)`` for a 2xx answer.

        Raises AgentError for an error answer (the agent's message), no answer, or a timeout.
        """
        headers = {'Accept': 'application/json'}
        key = self._api_key()
        if key is not None:
            headers['Authorization'] = 'Bearer ' + key
        data = None
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        conn = self._connection()
        where = f'the bmc-console agent at {self.url}'
        try:
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read(MAX_ANSWER + 1)
            except (socket.timeout, TimeoutError):
                raise AgentError(f'no answer from {where} within {self.timeout:g} s '
                                 f'([bmc_console]timeout)', kind='timeout') from None
            except ssl.SSLError as e:
                raise AgentError(f'TLS with {where} failed: {e.reason or e}', kind='unreachable') from None
            except (OSError, http.client.HTTPException) as e:
                errno_ = getattr(e, 'errno', None)
                reason = (os.strerror(errno_) if isinstance(errno_, int) else str(e)) or e.__class__.__name__
                if errno_ in (errno.ENOENT, errno.ECONNREFUSED):
                    reason += ' (is the agent running?)'
                raise AgentError(f'cannot reach {where}: {reason}', kind='unreachable') from None
        finally:
            conn.close()
        if len(raw) > MAX_ANSWER:
            raise AgentError(f'{where} answered {method} {path} with more than {MAX_ANSWER} bytes',
                             kind='protocol', status=resp.status)
        try:
            answer = json.loads(raw.decode('utf-8')) if raw.strip() else None
        except ValueError:
            answer = None
            if 200 <= resp.status < 300:
                raise AgentError(f'{where} answered {method} {path} with HTTP {resp.status} and a body '
                                 f'that is not JSON', kind='protocol', status=resp.status) from None
        if 200 <= resp.status < 300:
            return resp.status, answer
        err = answer.get('error') if isinstance(answer, dict) else None
        if isinstance(err, dict) and isinstance(err.get('message'), str):
            kind = err.get('kind') if isinstance(err.get('kind'), str) else 'internal'
            raise AgentError(err['message'], kind=kind, status=resp.status)
        if resp.status == 401:
            raise AgentError(f'{where} refused the API key (HTTP 401): check [bmc_console]credential_file',
                             kind='unauthorized', status=401)
        raise AgentError(f'{where} answered {method} {path} with HTTP {resp.status} {resp.reason}',
                         kind='protocol', status=resp.status)
