import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator.js';
import { basic, http, idracAnswer, iloAnswer, openKvm, wsUrl } from './helpers.js';
import { capturesMissing, REDFISH_CAPTURES } from '@bmc-console/common/testing/redfish-captures';

const running: RunningEmulator[] = [];
afterAll(async () => {
  await Promise.all(running.map((e) => e.close()));
});
async function start(o: EmulatorOptions): Promise<RunningEmulator> {
  const e = await startEmulator(o);
  running.push(e);
  return e;
}
const json = { 'content-type': 'application/json' };
const sessionBody = (e: RunningEmulator, pw = e.password) => JSON.stringify({ UserName: e.username, Password: pw });

describe('fault modes', () => {
  it('wrong-password: every login fails with the vendor error', async () => {
    const e = await start({ vendor: 'idrac9', faults: { wrongPassword: true } });
    const r = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: json,
      body: sessionBody(e),
    });
    expect(r.status).toBe(401);
    expect((r.json().error as { code: string }).code).toBe('Base.1.8.NoValidSession');
    expect(
      (await http(`${e.url}/redfish/v1/Managers`, { headers: { authorization: basic(e.username, e.password) } }))
        .status,
    ).toBe(401);
    const web = await http(`${e.url}/sysmgmt/2015/bmc/session`, {
      method: 'POST',
      headers: { user: `"${e.username}"`, password: `"${e.password}"` },
    });
    expect([web.status, web.json()]).toEqual([401, { authResult: 1 }]);
    expect(e.state().logins).toEqual({ ok: 0, failed: 3 });
  });

  it('session-timeout: an idle session expires and then answers 401', async () => {
    const e = await start({ vendor: 'openbmc', faults: { sessionTimeoutS: 0.3 } });
    const r = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: json,
      body: sessionBody(e),
    });
    const h = { 'x-auth-token': String(r.headers['x-auth-token']) };
    expect((await http(`${e.url}/redfish/v1/Managers`, { headers: h })).status).toBe(200);
    await new Promise((res) => setTimeout(res, 700));
    const late = await http(`${e.url}/redfish/v1/Managers`, { headers: h });
    expect(late.status).toBe(401);
    expect((late.json().error as { message: string }).message).toContain('expired');
    expect(e.state().expiredSessions).toBe(1);
  });

  it('slow: responses are delayed by at least the given time', async () => {
    const e = await start({ vendor: 'ilo6', faults: { slowMs: 300 } });
    const t0 = Date.now();
    expect((await http(`${e.url}/redfish/v1/`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('fail-path: HTTP 500 on exactly that path', async () => {
    const e = await start({ vendor: 'xcc', faults: { failPaths: ['/redfish/v1/Managers'] } });
    const auth = { authorization: basic(e.username, e.password) };
    const r = await http(`${e.url}/redfish/v1/Managers/`, { headers: auth });
    expect(r.status).toBe(500);
    expect((r.json().error as { code: string }).code).toBe('Base.1.8.InternalError');
    expect((await http(`${e.url}/redfish/v1/Managers/1`, { headers: auth })).status).toBe(200);
  });

  it('down: connections are reset; the control listener brings the BMC back up', async () => {
    const e = await start({ vendor: 'supermicro-x13', faults: { down: true } });
    await expect(http(`${e.url}/redfish/v1/`)).rejects.toThrow(/ECONNRESET|socket hang up/);
    const state = await fetch(`${e.controlUrl}/__emulator/state`).then((r) => r.json() as Promise<{ down: boolean }>);
    expect(state.down).toBe(true);
    const up = await fetch(`${e.controlUrl}/__emulator/control`, {
      method: 'POST',
      body: JSON.stringify({ down: false }),
    });
    expect(up.status).toBe(200);
    expect((await http(`${e.url}/redfish/v1/`)).status).toBe(200);
    e.setDown(true);
    await expect(http(`${e.url}/redfish/v1/`)).rejects.toThrow();
    const bad = await fetch(`${e.controlUrl}/__emulator/control`, {
      method: 'POST',
      body: JSON.stringify({ down: 'yes' }),
    });
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'control: down must be true or false' }]);
  });

  it('kvm-busy: the console socket answers busy and no console session is counted', async () => {
    const e = await start({ vendor: 'ilo7', faults: { kvmBusy: true } });
    const web = await http(`${e.url}/json/login_session`, {
      method: 'POST',
      body: JSON.stringify({ method: 'login', user_login: e.username, password: e.password }),
    });
    const key = web.cookies.sessionKey ?? '';
    const k = await openKvm(wsUrl(e.url, '/wss/ircport'), { cookie: `sessionKey=${key}`, handshake: iloAnswer(key) });
    expect(k.status).toBe('busy');
    expect(e.state().liveKvmSessions).toBe(0);
    const rc = await http(`${e.url}/html/rc_info.html`, {
      headers: { cookie: `sessionKey=${web.cookies.sessionKey}` },
    });
    expect(rc.text).toContain('>Acquire<');
  });
});

describe('session caps', () => {
  it('iDRAC9: 6 console slots; the 7th viewer joins shared without video', async () => {
    const e = await start({ vendor: 'idrac9' });
    const auth = { authorization: basic(e.username, e.password), 'content-type': 'application/json' };
    const open = async () => {
      const r = (
        await http(
          `${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.GetKVMSession`,
          { method: 'POST', headers: auth, body: '{"SessionTypeName":"t"}' },
        )
      ).json();
      return openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${String(r.TempUsername)}`), {
        protocols: ['binary'],
        handshake: idracAnswer(String(r.TempPassword)),
      });
    };
    const six: Awaited<ReturnType<typeof open>>[] = [];
    for (let i = 0; i < 6; i++) six.push(await open());
    expect(six.map((k) => k.status)).toEqual(Array(6).fill('ok'));
    const seventh = await open();
    expect(seventh.status).toBe('shared');
    expect(e.state()).toMatchObject({ liveKvmSessions: 6, sharedKvmSessions: 1, maxKvmSessions: 6 });
    six[0]?.ws.close();
    await new Promise((r) => six[0]?.ws.once('close', r));
    await expect.poll(() => e.state().liveKvmSessions).toBe(5);
    for (const k of [...six, seventh]) k.ws.close();
  });

  it('OpenBMC: 4 KVM sockets, the 5th is refused; the subprotocol must be the XSRF token', async () => {
    const e = await start({ vendor: 'openbmc' });
    const r = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: { ...json, 'x-requested-with': 'XMLHttpRequest' },
      body: sessionBody(e),
    });
    expect(r.headers['x-auth-token']).toBeUndefined();
    const cookie = `BMCWEB-SESSION=${r.cookies['BMCWEB-SESSION']}; XSRF-TOKEN=${r.cookies['XSRF-TOKEN']}`;
    const xsrf = r.cookies['XSRF-TOKEN'] ?? '';
    expect((await openKvm(wsUrl(e.url, '/kvm/0'), { cookie, protocols: ['wrong'] })).status).toBe('http-401');
    const socks: Awaited<ReturnType<typeof openKvm>>[] = [];
    for (let i = 0; i < 4; i++) socks.push(await openKvm(wsUrl(e.url, '/kvm/0'), { cookie, protocols: [xsrf] }));
    expect(socks.map((k) => k.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(socks[0]?.ws.protocol).toBe(xsrf);
    const fifth = await openKvm(wsUrl(e.url, '/kvm/0'), { cookie, protocols: [xsrf] });
    expect([fifth.status, fifth.message]).toEqual(['busy', 'Max sessions are already connected']);
    for (const k of socks) k.ws.close();
    // Cookie-authenticated writes need X-XSRF-TOKEN.
    const del = await http(`${e.url}${String(r.headers.location)}`, { method: 'DELETE', headers: { cookie } });
    expect(del.status).toBe(401);
    expect(
      (
        await http(`${e.url}${String(r.headers.location)}`, {
          method: 'DELETE',
          headers: { cookie, 'x-xsrf-token': xsrf },
        })
      ).status,
    ).toBe(204);
  });

  it('AMI: form-only login (JSON gets 403); the 5th login without logout gets code 15000', async () => {
    const e = await start({ vendor: 'ami' });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const body = `username=${e.username}&password=${e.password}&certlogin=0`;
    expect(
      (
        await http(`${e.url}/api/session`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ username: e.username, password: e.password }),
        })
      ).status,
    ).toBe(403);
    const logins: Awaited<ReturnType<typeof http>>[] = [];
    for (let i = 0; i < 4; i++)
      logins.push(await http(`${e.url}/api/session`, { method: 'POST', headers: form, body }));
    expect(logins.map((l) => l.status)).toEqual([200, 200, 200, 200]);
    const fifth = await http(`${e.url}/api/session`, { method: 'POST', headers: form, body });
    expect([fifth.status, fifth.json()]).toEqual([401, { error: 'Could not login', code: 15000 }]);
    const first = logins[0];
    const csrf = String(first?.json().CSRFToken);
    const cookie = `QSESSIONID=${first?.cookies.QSESSIONID}`;
    const cfg = (
      await http(`${e.url}/api/settings/media/h5viewercfg`, { headers: { cookie, 'X-CSRFTOKEN': csrf } })
    ).json();
    const k = await openKvm(wsUrl(e.url, '/kvm'), {
      cookie,
      protocols: ['binary', 'base64'],
      auth: { type: 'auth', token: cfg.token },
    });
    expect([k.status, k.ws.protocol]).toEqual(['ok', 'binary']);
    k.ws.close();
    expect(
      (await http(`${e.url}/api/session`, { method: 'DELETE', headers: { cookie, 'X-CSRFTOKEN': csrf } })).status,
    ).toBe(200);
    expect((await http(`${e.url}/api/session`, { method: 'POST', headers: form, body })).status).toBe(200);
  });
});

describe('primary launch paths can be switched off (--no-primary)', () => {
  const post = (e: RunningEmulator, path: string, body: unknown, headers: Record<string, string> = json) =>
    http(`${e.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

  it('iLO 5: a Redfish token no longer works as the sessionKey cookie; the form login still does', async () => {
    const e = await start({ vendor: 'ilo5', noPrimary: true });
    const token = String(
      (await post(e, '/redfish/v1/SessionService/Sessions', { UserName: e.username, Password: e.password })).headers[
        'x-auth-token'
      ],
    );
    expect((await http(`${e.url}/irc.html`, { headers: { cookie: `sessionKey=${token}` } })).text).toContain(
      'Invalid session key',
    );
    const web = await post(e, '/json/login_session', { method: 'login', user_login: e.username, password: e.password });
    expect(
      (await http(`${e.url}/irc.html`, { headers: { cookie: `sessionKey=${web.cookies.sessionKey}` } })).text,
    ).toContain('__kvmStart');
  });

  it('iLO 7: ?sessionkey= is ignored (as from iLO 6 v1.76); iLO 6 1.66 accepts it', async () => {
    for (const [vendor, works] of [
      ['ilo7', false],
      ['ilo6', true],
    ] as const) {
      const e = await start({ vendor });
      const token = String(
        (await post(e, '/redfish/v1/SessionService/Sessions', { UserName: e.username, Password: e.password })).headers[
          'x-auth-token'
        ],
      );
      const page = await http(`${e.url}/irc.html?sessionkey=${token}`);
      expect(page.text.includes('__kvmStart'), vendor).toBe(works);
      if (!works) expect(page.text).toContain('login-form__submit');
    }
  });

  it('iLO 4: the login frame is delayed; Redfish session + sessionKey cookie still opens irc.html', async () => {
    const e = await start({ vendor: 'ilo4', noPrimary: true });
    expect(
      (await post(e, '/json/login_session', { method: 'login', user_login: e.username, password: e.password })).status,
    ).toBe(403);
    const token = String(
      (await post(e, '/redfish/v1/SessionService/Sessions', { UserName: e.username, Password: e.password })).headers[
        'x-auth-token'
      ],
    );
    expect((await http(`${e.url}/irc.html`, { headers: { cookie: `sessionKey=${token}` } })).text).toContain(
      '__kvmStart',
    );
  });

  it('Supermicro X12: no snapshot image on the main menu; the bootstrap page still works', async () => {
    const e = await start({ vendor: 'supermicro-x12', noPrimary: true });
    const login = await http(`${e.url}/cgi/login.cgi`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=${e.username}&pwd=${e.password}`,
    });
    const cookie = `SID=${login.cookies.SID}`;
    expect((await http(`${e.url}/cgi/url_redirect.cgi?url_name=sys_info`, { headers: { cookie } })).text).not.toContain(
      'img1',
    );
    expect(
      (await http(`${e.url}/cgi/url_redirect.cgi?url_name=man_ikvm_html5_bootstrap`, { headers: { cookie } })).text,
    ).toContain('entry_value');
  });

  it('Supermicro X13: IKVM reports "JAVA plug-in" without URI', async () => {
    const e = await start({ vendor: 'supermicro-x13', noPrimary: true });
    const ikvm = (
      await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, {
        headers: { authorization: basic(e.username, e.password) },
      })
    ).json();
    expect(ikvm).toMatchObject({ 'Current interface': 'JAVA plug-in' });
    expect(ikvm.URI).toBeUndefined();
  });

  it('Lenovo XCC: GetRemoteConsoleToken is gone; the web login remains', async () => {
    const e = await start({ vendor: 'xcc2', noPrimary: true });
    const auth = { authorization: basic(e.username, e.password), 'content-type': 'application/json' };
    const rc = (await http(`${e.url}/redfish/v1/Managers/1/Oem/Lenovo/RemoteControl`, { headers: auth })).json();
    expect(rc.Actions).toEqual({});
    expect(
      (
        await http(
          `${e.url}/redfish/v1/Managers/1/Oem/Lenovo/RemoteControl/Actions/LenovoRemoteControlService.GetRemoteConsoleToken`,
          { method: 'POST', headers: auth, body: '{}' },
        )
      ).status,
    ).toBe(404);
    const web = await post(e, '/api/login', { username: e.username, password: e.password });
    expect(web.status).toBe(200);
    expect(web.cookies._csrf_token).toMatch(/^[0-9a-f]{32}$/);
  });

  it('OpenBMC, AMI, iDRAC7/8: the switch reaches the page script', async () => {
    const o = await start({ vendor: 'openbmc', noPrimary: true });
    expect((await http(`${o.url}/`)).text).toContain('const consoleRoute = false;');
    const a = await start({ vendor: 'ami', noPrimary: true });
    // Another SP-X build's login form: the script's selectors miss it and it takes the login API.
    expect((await http(`${a.url}/`)).text).toContain('id="login_username"');
    expect((await http(`${a.url}/`)).text).not.toContain('id="userid"');
    const direct = await start({ vendor: 'ami', disable: ['viewer-direct'] });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const l = await http(`${direct.url}/api/session`, {
      method: 'POST',
      headers: form,
      body: `username=${direct.username}&password=${direct.password}`,
    });
    expect(
      (await http(`${direct.url}/viewer.html`, { headers: { cookie: `QSESSIONID=${l.cookies.QSESSIONID}` } })).text,
    ).toContain('if (!false && !window.opener)');
    const seven = await start({ vendor: 'idrac7', noPrimary: true });
    expect((await http(`${seven.url}/login.html?console`, { headers: { 'accept-encoding': 'gzip' } })).text).toContain(
      'const deepLink = false &&',
    );
    const d = await start({ vendor: 'idrac8', noPrimary: true });
    expect((await http(`${d.url}/login.html?console`)).text).toContain('const deepLink = false &&');
  });
});

describe('TLS', () => {
  it('--ca-dir: the server certificate verifies against the generated CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmc-emu-ca-'));
    try {
      const e = await start({ vendor: 'unknown', caDir: dir });
      expect(e.caFile).toBe(join(dir, 'ca.pem'));
      const ca = readFileSync(e.caFile ?? '', 'utf8');
      const status = await new Promise<number>((resolve, reject) => {
        httpsRequest(`${e.url}/redfish/v1/`, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fixture mode', () => {
  const capture = 'dell-idrac9-15g-r750-fw7.10';
  const dir = join(REDFISH_CAPTURES, capture);
  const missing = capturesMissing(join(capture, 'root.json'));
  it(`serves captured JSON (the optional Redfish captures' ${capture}) by @odata.id`, async (ctx) => {
    if (missing) {
      const why = missing;
      console.warn(`fixture mode test skipped: ${why}`);
      ctx.skip(why);
    }
    const e = await start({ fixture: dir, vendor: 'idrac9' });
    const root = (await http(`${e.url}/redfish/v1/`)).json();
    expect(root.Vendor).toBe('Dell');
    const mgr = (
      await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1`, {
        headers: { authorization: basic(e.username, e.password) },
      })
    ).json();
    expect(mgr.FirmwareVersion).toBe('7.10.30.00');
  });
});

describe('CLI', () => {
  const cli = join(import.meta.dirname, '../src/cli.ts');
  const run = (args: string[]) =>
    spawn(process.execPath, ['--conditions=source', '--import', 'tsx', cli, ...args], {
      env: { ...process.env, BMC_EMULATOR_PASSWORD: 'cli-Secret-1' },
    });

  it('prints URL, username and password as JSON on the first line and serves', async () => {
    const child = run(['--vendor', 'xcc2', '--listen', '127.0.0.1:0', '--node', 'rack7-n3']);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (c) => reject(new Error(`exited ${c}`)));
      });
      const info = JSON.parse(line) as Record<string, string>;
      expect(info).toMatchObject({
        username: 'USERID',
        password: 'cli-Secret-1',
        profile: 'xcc2',
        family: 'xcc',
        markerColor: '#c00060',
      });
      expect(info.viewerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect((await http(`${info.url}/redfish/v1/`)).json().Vendor).toBe('Lenovo');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('rejects bad flag values with a message naming the flag', async () => {
    const fail = async (args: string[]) => {
      const child = run(args);
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      return { code, err };
    };
    const [vendor, slow] = await Promise.all([
      fail(['--vendor', 'idrac11']),
      fail(['--vendor', 'ami', '--slow', 'fast']),
    ]);
    expect(vendor.code).toBe(2);
    expect(vendor.err).toContain('--vendor: unknown profile "idrac11"');
    expect(slow.code).toBe(2);
    expect(slow.err).toContain('--slow: expected an integer >= 0, got "fast"');
  });
});
