"""Unit tests of the bmc-console Ironic provider against a fake agent (http.server on a unix socket and on TCP).

On a host without Ironic these run with STAND-INS for ironic.* and oslo_config (tests/standins.py, see the
pytest header line); in the Ironic image (scripts/ironic-image.sh) the same tests run against the REAL
Ironic 29 modules and the installed entry point.
"""

import http.server
import json
import logging
import os
import socket
import shutil
import socketserver
import ssl
import subprocess
import threading
import time
import types

import pytest

from conftest import REAL_IRONIC
from ironic.common import exception
from ironic.conf import CONF

from bmc_console_ironic import conf as bmc_conf
from bmc_console_ironic import provider as bmc_provider

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
SECRET = 'S3cr"et%$\\;pw-\u00e9'
API_KEY = 'k-' + 'x' * 40
APP_INFO = {
    'address': 'https://10.0.2.2:8443', 'system_id': '/redfish/v1/Systems/System.Embedded.1',
    'username': 'root', 'password': SECRET, 'verify_ca': False, 'auth_type': 'auto', 'node_uuid': NODE,
}
STARTED = {'node': NODE, 'host': '127.0.0.1', 'port': 40123,
           'url': 'http://127.0.0.1:6090/?path=websockify%3Fnode%3D' + NODE + '%26token%3DT',
           'expiresAt': '2026-12-06T12:00:00.000Z'}


def task(node=NODE):
    return types.SimpleNamespace(node=types.SimpleNamespace(uuid=node))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def address_string(self):
        return 'fake-agent-client'

    def _serve(self):
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        req = {'method': self.command, 'path': self.path,
               'headers': {k.lower(): v for k, v in self.headers.items()}, 'raw': raw,
               'json': json.loads(raw) if raw else None}
        agent = self.server.agent
        agent.requests.append(req)
        status, answer, delay = agent.respond(req)
        if delay:
            time.sleep(delay)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    do_GET = do_POST = do_DELETE = _serve


class _TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False


class FakeAgent:
    """Speaks the agent's API contract; ``respond(req) -> (status, answer, delay)`` is replaceable."""

    def __init__(self, transport, tmp_path, tls=None):
        self.requests = []
        self.api_key = API_KEY if transport == 'tcp' else None
        if transport == 'tcp':
            self.server = _TCPServer(('127.0.0.1', 0), _Handler)
            scheme = 'http'
            if tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*tls)
                self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
                scheme = 'https'
            self.url = f'{scheme}://127.0.0.1:{self.server.server_address[1]}'
        else:
            path = str(tmp_path / 'agent.sock')
            self.server = _UnixServer(path, _Handler)
            self.url = 'unix:' + path
        self.server.agent = self
        self.handler = self.default
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def respond(self, req):
        if self.api_key and req['headers'].get('authorization') != 'Bearer ' + self.api_key:
            return 401, {'error': {'kind': 'invalid', 'message': 'missing or wrong API key'}}, 0
        return self.handler(req)

    @staticmethod
    def default(req):
        if req['method'] == 'POST' and req['path'] == '/v1/consoles':
            return 201, dict(STARTED, node=req['json']['node']), 0
        if req['method'] == 'DELETE' and req['path'] == '/v1/consoles':
            return 200, {'stopped': [NODE]}, 0
        if req['method'] == 'DELETE' and req['path'].startswith('/v1/consoles/'):
            return 200, {'node': req['path'].rsplit('/', 1)[1], 'wasRunning': True}, 0
        return 404, {'error': {'kind': 'not-found', 'message': 'no such route'}}, 0

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def overrides():
    bmc_conf.register_opts(CONF)
    set_ = []

    def override(name, value, group='bmc_console'):
        CONF.set_override(name, value, group=group)
        set_.append((name, group))
    yield override
    for name, group in set_:
        CONF.clear_override(name, group=group)


@pytest.fixture
def key_file(tmp_path):
    p = tmp_path / 'agent-api-key'
    p.write_text(API_KEY + '\n')
    os.chmod(p, 0o600)
    return str(p)


@pytest.fixture(params=['unix', 'tcp'])
def agent(request, tmp_path, overrides, key_file):
    a = FakeAgent(request.param, tmp_path)
    overrides('agent_url', a.url)
    if request.param == 'tcp':
        overrides('credential_file', key_file)
    yield a
    a.close()


@pytest.fixture
def unix_agent(tmp_path, overrides):
    a = FakeAgent('unix', tmp_path)
    overrides('agent_url', a.url)
    yield a
    a.close()


def all_log_text(caplog):
    return '\n'.join(f'{r.getMessage()} {r.args!r} {r.exc_text or ""}' for r in caplog.records)


# --- requests and answers ------------------------------------------------------------------------------

def test_start_sends_the_contract_request_and_returns_host_port(agent):
    host, port = bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
    assert (host, port) == ('127.0.0.1', 40123)
    [req] = agent.requests
    assert req['method'] == 'POST' and req['path'] == '/v1/consoles'
    assert req['headers']['content-type'] == 'application/json'
    assert req['json'] == {'node': NODE, 'app': 'redfish-graphical', 'appInfo': APP_INFO,
                           'readOnly': False, 'vncPassword': False}
    if agent.api_key:
        assert req['headers']['authorization'] == 'Bearer ' + API_KEY
    else:
        assert 'authorization' not in req['headers']


def test_start_passes_vnc_password_and_ironic_read_only(unix_agent, overrides):
    overrides('vnc_password', True)
    overrides('read_only', True, group='vnc')
    bmc_provider.BmcConsoleContainer().start_container(task(), 'fake', {})
    body = unix_agent.requests[0]['json']
    assert body['vncPassword'] is True and body['readOnly'] is True and body['app'] == 'fake'


def test_unix_socket_sends_the_key_when_a_credential_file_is_set(unix_agent, overrides, key_file):
    overrides('credential_file', key_file)
    bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
    assert unix_agent.requests[0]['headers']['authorization'] == 'Bearer ' + API_KEY


def test_stop_and_stop_all_paths(agent):
    p = bmc_provider.BmcConsoleContainer()
    p.stop_container(task())
    p.stop_all_containers()
    assert [(r['method'], r['path']) for r in agent.requests] == [
        ('DELETE', '/v1/consoles/' + NODE), ('DELETE', '/v1/consoles')]
    for r in agent.requests:
        assert r['raw'] == b''
        if agent.api_key:
            assert r['headers']['authorization'] == 'Bearer ' + API_KEY


def test_stop_of_a_console_the_agent_does_not_know_is_not_an_error(unix_agent):
    unix_agent.handler = lambda req: (404, {'error': {'kind': 'not-found', 'node': NODE,
                                                      'message': f'no console for node {NODE}'}}, 0)
    bmc_provider.BmcConsoleContainer().stop_container(task())
    assert len(unix_agent.requests) == 1


def test_node_id_is_escaped_in_the_path(unix_agent):
    bmc_provider.BmcConsoleContainer().stop_container(task('a/b?c'))
    assert unix_agent.requests[0]['path'] == '/v1/consoles/a%2Fb%3Fc'


# --- errors ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('status,kind', [(400, 'invalid'), (502, 'provider'), (500, 'internal')])
def test_agent_errors_become_console_container_error_with_the_agents_message(unix_agent, status, kind):
    msg = f'console of node {NODE}: no RFB greeting on 127.0.0.1:40123 within 30 s ({kind})'
    unix_agent.handler = lambda req: (status, {'error': {'kind': kind, 'node': NODE, 'message': msg}}, 0)
    with pytest.raises(exception.ConsoleContainerError) as ei:
        bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
    text = str(ei.value)
    assert msg in text
    assert "provider 'bmc-console'" in text
    assert SECRET not in text


def test_stop_errors_other_than_not_found_raise(unix_agent):
    unix_agent.handler = lambda req: (502, {'error': {'kind': 'provider', 'message': 'podman rm failed'}}, 0)
    p = bmc_provider.BmcConsoleContainer()
    with pytest.raises(exception.ConsoleContainerError, match='podman rm failed'):
        p.stop_container(task())
    with pytest.raises(exception.ConsoleContainerError, match='podman rm failed'):
        p.stop_all_containers()


def test_non_json_error_names_the_status(unix_agent):
    unix_agent.handler = lambda req: (503, b'<html>upstream down</html>', 0)
    with pytest.raises(exception.ConsoleContainerError, match='HTTP 503'):
        bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)


def test_answer_without_host_or_port_is_an_error(unix_agent):
    unix_agent.handler = lambda req: (201, {'node': NODE, 'host': '127.0.0.1'}, 0)
    with pytest.raises(exception.ConsoleContainerError, match='host and port'):
        bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)


def test_wrong_api_key_is_an_error(tmp_path, overrides):
    a = FakeAgent('tcp', tmp_path)
    try:
        bad = tmp_path / 'bad-key'
        bad.write_text('not-the-key-zzz')
        overrides('agent_url', a.url)
        overrides('credential_file', str(bad))
        with pytest.raises(exception.ConsoleContainerError, match='API key') as ei:
            bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
        assert 'not-the-key-zzz' not in str(ei.value)
    finally:
        a.close()


def test_timeout(unix_agent, overrides):
    overrides('timeout', 0.3)
    unix_agent.handler = lambda req: (201, STARTED, 3)
    t0 = time.monotonic()
    with pytest.raises(exception.ConsoleContainerError, match=r'no answer from the bmc-console agent .* within 0\.3 s'):
        bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
    assert time.monotonic() - t0 < 2


def test_unreachable_socket(tmp_path, overrides):
    overrides('agent_url', 'unix:' + str(tmp_path / 'nobody-listens.sock'))
    with pytest.raises(exception.ConsoleContainerError, match=r'cannot reach the bmc-console agent at unix:.*: No such file or directory \(is the agent running\?\)'):
        bmc_provider.BmcConsoleContainer().stop_all_containers()


def test_unreachable_tcp(overrides, key_file):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    overrides('agent_url', f'http://127.0.0.1:{port}')
    overrides('credential_file', key_file)
    with pytest.raises(exception.ConsoleContainerError, match='cannot reach'):
        bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)


def test_missing_credential_file_is_a_clear_error_and_sends_nothing(tmp_path, overrides):
    a = FakeAgent('tcp', tmp_path)
    try:
        missing = str(tmp_path / 'no-such-key')
        overrides('agent_url', a.url)
        overrides('credential_file', missing)
        with pytest.raises(exception.ConsoleContainerError) as ei:
            bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
        assert 'cannot read the agent API key file' in str(ei.value) and missing in str(ei.value)
        assert 'No such file' in str(ei.value)
        assert a.requests == []
    finally:
        a.close()


def test_tcp_without_credential_file_is_refused_at_load(overrides):
    overrides('agent_url', 'https://agent.example.com:6091')
    with pytest.raises(exception.ConsoleContainerError, match='credential_file must be set'):
        bmc_provider.BmcConsoleContainer()


@pytest.mark.parametrize('url', ['unix:relative.sock', 'ftp://x', 'https://user:pw@agent:1', ''])
def test_bad_agent_url_is_refused_at_load(overrides, url):
    overrides('agent_url', url)
    with pytest.raises(exception.ConsoleContainerError, match='agent_url'):
        bmc_provider.BmcConsoleContainer()


def test_tcp_path_prefix_is_kept(tmp_path, overrides, key_file):
    a = FakeAgent('tcp', tmp_path)
    try:
        overrides('agent_url', a.url + '/agent/')
        overrides('credential_file', key_file)
        a.handler = lambda req: (201, STARTED, 0)
        bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
        assert a.requests[0]['path'] == '/agent/v1/consoles'
    finally:
        a.close()


@pytest.fixture
def tls_cert(tmp_path):
    if not shutil.which('openssl'):
        pytest.skip('openssl is not installed')
    cert, key = tmp_path / 'agent.pem', tmp_path / 'agent.key'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj',
                    '/CN=bmc-console-agent', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def test_https_agent_verified_with_ca_file(tmp_path, overrides, key_file, tls_cert):
    a = FakeAgent('tcp', tmp_path, tls=tls_cert)
    try:
        overrides('agent_url', a.url)
        overrides('credential_file', key_file)
        overrides('ca_file', tls_cert[0])
        assert bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO) == (
            '127.0.0.1', 40123)
        assert a.requests[0]['headers']['authorization'] == 'Bearer ' + API_KEY
    finally:
        a.close()


def test_https_agent_with_an_unknown_certificate_is_refused(tmp_path, overrides, key_file, tls_cert):
    a = FakeAgent('tcp', tmp_path, tls=tls_cert)
    try:
        overrides('agent_url', a.url)
        overrides('credential_file', key_file)
        with pytest.raises(exception.ConsoleContainerError, match='TLS with the bmc-console agent .* failed'):
            bmc_provider.BmcConsoleContainer().start_container(task(), 'redfish-graphical', APP_INFO)
        assert a.requests == []
    finally:
        a.close()


# --- secrets -----------------------------------------------------------------------------------------------

def test_app_info_is_never_logged(unix_agent, caplog):
    caplog.set_level(logging.DEBUG)
    p = bmc_provider.BmcConsoleContainer()
    p.start_container(task(), 'redfish-graphical', APP_INFO)
    # an agent error whose message (wrongly) echoes the password: scrubbed before logs and last_error
    unix_agent.handler = lambda req: (502, {'error': {'kind': 'provider',
                                                      'message': f'login failed for {SECRET}'}}, 0)
    with pytest.raises(exception.ConsoleContainerError) as ei:
        p.start_container(task(), 'redfish-graphical', APP_INFO)
    assert SECRET not in str(ei.value) and '***' in str(ei.value)
    text = all_log_text(caplog)
    assert caplog.records, 'expected the provider to log its calls'
    assert NODE in text
    for value in (SECRET, APP_INFO['address'], APP_INFO['system_id'], 'appInfo'):
        assert value not in text


# --- registration --------------------------------------------------------------------------------------------

def test_options_and_list_opts():
    [(group, opts)] = bmc_conf.list_opts()
    assert group.name == 'bmc_console'
    names = {o.name: o.default for o in opts}
    assert names['agent_url'] == 'unix:/run/bmc-console-agent/agent.sock'
    assert names['vnc_password'] is False
    assert {'credential_file', 'timeout'} <= set(names)


def test_pyproject_declares_the_entry_point():
    try:
        import tomllib
    except ImportError:
        pytest.skip('tomllib needs Python 3.11')
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(here, 'pyproject.toml'), 'rb') as f:
        project = tomllib.load(f)['project']
    assert project['entry-points']['ironic.console.container'] == {
        'bmc-console': 'bmc_console_ironic.provider:BmcConsoleContainer'}
    assert project['dependencies'] == []


@pytest.mark.skipif(not REAL_IRONIC, reason='needs the real Ironic and the installed plugin (Ironic image)')
def test_real_ironic_factory_loads_the_provider_by_name(unix_agent, overrides):
    from ironic.common import console_factory
    overrides('container_provider', 'bmc-console', group='vnc')
    console_factory.ConsoleContainerFactory._provider = None
    try:
        provider = console_factory.ConsoleContainerFactory().provider
        assert isinstance(provider, bmc_provider.BmcConsoleContainer)
        assert provider.start_container(task(), 'redfish-graphical', APP_INFO) == ('127.0.0.1', 40123)
    finally:
        console_factory.ConsoleContainerFactory._provider = None


@pytest.mark.skipif(not REAL_IRONIC, reason='needs the real Ironic')
def test_real_ironic_exception_class_is_the_one_raised(unix_agent):
    unix_agent.handler = lambda req: (502, {'error': {'kind': 'provider', 'message': 'boom'}}, 0)
    from ironic.common.exception import ConsoleContainerError, IronicException
    with pytest.raises(ConsoleContainerError) as ei:
        bmc_provider.BmcConsoleContainer().stop_all_containers()
    assert isinstance(ei.value, IronicException)
    # Ironic keeps its kwargs JSON-serialised (for RPC); the message has the plain values
    assert ei.value.kwargs['provider'] == '"bmc-console"'
    assert str(ei.value) == "Console container error with provider 'bmc-console', reason: boom"

