import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator.js';
import { PROFILE_NAMES, getProfile } from '../src/profiles.js';
import { basic, http, idracAnswer, iloAnswer, openKvm, wsUrl } from './helpers.js';

const running: RunningEmulator[] = [];
afterAll(async () => {
  await Promise.all(running.map((e) => e.close()));
});

async function start(vendor: (typeof PROFILE_NAMES)[number]): Promise<RunningEmulator> {
  const e = await startEmulator({ vendor, password: 'Secret-pw1' });
  running.push(e);
  return e;
}

describe.each(PROFILE_NAMES)('Redfish of profile %s', (name) => {
  it('serves the root unauthenticated, sessions, Systems and Managers', async () => {
    const e = await start(name);
    const p = getProfile(name);
    const root = await http(`${e.url}/redfish/v1/`);
    expect(root.status).toBe(200);
    expect(root.json()).toMatchObject({ ...p.root, Systems: { '@odata.id': '/redfish/v1/Systems' } });

    expect((await http(`${e.url}/redfish/v1/Managers`)).status).toBe(401);
    const bad = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ UserName: e.username, Password: 'wrong' }),
    });
    expect(bad.status).toBe(401);

    const login = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ UserName: e.username, Password: e.password }),
    });
    expect(login.status).toBe(201);
    const token = String(login.headers['x-auth-token']);
    const location = String(login.headers.location);
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(location).toMatch(/^\/redfish\/v1\/SessionService\/Sessions\/\d+$/);
    expect(e.state().redfishSessions).toBe(1);

    const h = { 'x-auth-token': token };
    const mgrs = (await http(`${e.url}/redfish/v1/Managers`, { headers: h })).json();
    expect(mgrs.Members).toEqual([{ '@odata.id': `/redfish/v1/Managers/${p.managerId}` }]);
    const mgr = (await http(`${e.url}/redfish/v1/Managers/${p.managerId}`, { headers: h })).json();
    expect(mgr).toMatchObject({
      Id: p.managerId,
      ...(p.manager.Model ? { Model: p.manager.Model } : {}),
      FirmwareVersion: p.manager.FirmwareVersion,
    });
    const systems = (
      await http(`${e.url}/redfish/v1/Systems`, { headers: { authorization: basic(e.username, e.password) } })
    ).json();
    expect(systems.Members).toEqual(
      [p.systemId, ...(p.extraSystemIds ?? [])].map((id) => ({ '@odata.id': `/redfish/v1/Systems/${id}` })),
    );
    expect((await http(`${e.url}/redfish/v1/Systems/${p.systemId}`, { headers: h })).json()).toMatchObject({
      Id: p.systemId,
    });

    expect((await http(`${e.url}${location}`, { method: 'DELETE', headers: h })).status).toBe(204);
    expect((await http(`${e.url}/redfish/v1/Managers`, { headers: h })).status).toBe(401);
    expect(e.state().redfishSessions).toBe(0);
    expect(e.state().logouts).toEqual([expect.objectContaining({ kind: 'redfish' })]);
  });
});

describe('vendor console actions', () => {
  it('Dell GetKVMSession gives a one-shot VCSID pair that /console and the viewer accept', async () => {
    const e = await start('idrac9');
    const svc = (
      await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService`, {
        headers: { authorization: basic(e.username, e.password) },
      })
    ).json();
    const target = (svc.Actions as Record<string, { target: string }>)['#DelliDRACCardService.GetKVMSession']?.target;
    expect(target).toBe(
      '/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.GetKVMSession',
    );
    const r = await http(`${e.url}${target}`, {
      method: 'POST',
      headers: { authorization: basic(e.username, e.password), 'content-type': 'application/json' },
      body: '{"SessionTypeName":"Dell"}',
    });
    expect(r.status).toBe(200);
    const { TempUsername: u, TempPassword: pw } = r.json() as { TempUsername: string; TempPassword: string };
    expect(u).toMatch(/^\d{24}$/);
    const c = await http(`${e.url}/console?username=${e.username}&tempUsername=${u}&tempPassword=${pw}`);
    expect(c.status).toBe(302);
    expect(String(c.headers.location)).toContain(`/restgui/vconsole/index.html?ip=127.0.0.1&kvmport=${e.port}&title=`);
    const viewer = await http(String(c.headers.location), { headers: { 'accept-encoding': 'gzip' } });
    expect(viewer.text).toContain('FPS:');
    const k = await openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${u}`), {
      protocols: ['binary'],
      handshake: idracAnswer(pw),
    });
    expect(k.status).toBe('ok');
    expect(k.ws.protocol).toBe('binary');
    // One-shot: the same VCSID does not open a second console.
    expect((await openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${u}`))).status).toBe('http-401');
    k.ws.close();
    // The KEY2 answer must carry the pair's VCSID2.
    const r2 = (
      await http(`${e.url}${target}`, {
        method: 'POST',
        headers: { authorization: basic(e.username, e.password), 'content-type': 'application/json' },
        body: '{"SessionTypeName":"Dell"}',
      })
    ).json();
    const wrong = await openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${String(r2.TempUsername)}`), {
      protocols: ['binary'],
      handshake: idracAnswer('0'.repeat(24)),
    });
    expect(wrong.status).toBe('denied');
  });

  it('Dell web API: quoted header login, XSRF-TOKEN, vconsole Location, logout', async () => {
    const e = await start('idrac10');
    const r = await http(`${e.url}/sysmgmt/2015/bmc/session`, {
      method: 'POST',
      headers: { user: `"${e.username}"`, password: `"${e.password}"` },
    });
    expect(r.status).toBe(201);
    expect(r.json()).toEqual({ authResult: 0 });
    const xsrf = String(r.headers['xsrf-token']);
    const cookie = `-http-session-=${r.cookies['-http-session-']}`;
    expect((await http(`${e.url}/sysmgmt/2015/server/vconsole`, { headers: { cookie } })).status).toBe(401);
    const v = (await http(`${e.url}/sysmgmt/2015/server/vconsole`, { headers: { cookie, 'xsrf-token': xsrf } })).json();
    expect(String(v.Location)).toMatch(/\/restgui\/vconsole\/index\.html\?ip=.*&VCSID=\d{24}&VCSID2=\d{24}$/);
    expect(
      (await http(`${e.url}/sysmgmt/2015/bmc/session`, { method: 'DELETE', headers: { cookie, 'xsrf-token': xsrf } }))
        .status,
    ).toBe(200);
    expect(e.state().webSessions).toBe(0);
    expect((await http(`${e.url}/restgui/start.html`)).status).toBe(404);
    const start9 = await http(`${e.url}/restgui/start.html`, { headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(start9.text).toContain('idrac-start-screen');
    const slash = await http(`${e.url}/`);
    expect([slash.status, slash.headers.location]).toEqual([302, '/restgui/start.html']);
  });

  it('Dell GetKVMSession can be switched off (--no-primary) and disappears from Actions', async () => {
    const e = await startEmulator({ vendor: 'idrac9', noPrimary: true });
    running.push(e);
    const auth = { authorization: basic(e.username, e.password), 'content-type': 'application/json' };
    const svc = (
      await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService`, { headers: auth })
    ).json();
    expect(svc.Actions).toEqual({});
    const r = await http(
      `${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.GetKVMSession`,
      { method: 'POST', headers: auth, body: '{"SessionTypeName":"x"}' },
    );
    expect(r.status).toBe(400);
  });

  it('Supermicro X13: Redfish login sets SID; IKVM URI page needs a token; its socket needs SID + entry_value', async () => {
    const e = await start('supermicro-x13');
    expect((await http(`${e.url}/cgi/login.cgi`, { method: 'POST', body: 'name=a&pwd=b' })).status).toBe(400);
    const login = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ UserName: e.username, Password: e.password }),
    });
    const token = String(login.headers['x-auth-token']);
    expect(login.cookies.SID).toBe(token);
    const ikvm = (
      await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: { 'x-auth-token': token } })
    ).json();
    expect(ikvm['Current interface']).toBe('HTML 5');
    expect(String(ikvm.URI)).toMatch(/^\/redfish\/[0-9a-f]+\.IKVM$/);
    expect((await http(`${e.url}${String(ikvm.URI)}`)).status).toBe(401);
    const page = await http(`${e.url}${String(ikvm.URI)}`, { headers: { 'x-auth-token': token } });
    const entry = /id="entry_value" value="([0-9a-f]+)"/.exec(page.text)?.[1];
    expect(entry).toBeTruthy();
    expect((await openKvm(wsUrl(e.url, '/'), { auth: { type: 'auth', entry_value: entry } })).status).toBe('http-401');
    const k = await openKvm(wsUrl(e.url, '/'), { cookie: `SID=${token}`, auth: { type: 'auth', entry_value: entry } });
    expect(k.status).toBe('ok');
    k.ws.close();
    // JAVA plug-in: no URI until PATCHed back to HTML 5.
    expect(
      (
        await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, {
          method: 'PATCH',
          headers: { 'x-auth-token': token, 'content-type': 'application/json' },
          body: '{"Current interface":"JAVA plug-in"}',
        })
      ).status,
    ).toBe(204);
    const java = (
      await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: { 'x-auth-token': token } })
    ).json();
    expect(java).toMatchObject({ 'Current interface': 'JAVA plug-in' });
    expect(java.URI).toBeUndefined();
  });

  it('Supermicro X11: login.cgi plain and base64, 200 on failure, SID cookie, logout', async () => {
    const e = await start('supermicro-x11');
    const failed = await http(`${e.url}/cgi/login.cgi`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=ADMIN&pwd=nope',
    });
    expect(failed.status).toBe(200);
    expect(failed.text).not.toContain('url_name=mainmenu');
    const b64 = (s: string) => encodeURIComponent(Buffer.from(s).toString('base64'));
    const ok = await http(`${e.url}/cgi/login.cgi`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=${b64(e.username)}&pwd=${b64(e.password)}&check=00`,
    });
    expect(ok.text).toContain('url_redirect.cgi?url_name=mainmenu');
    expect(ok.cookies.SID).toMatch(/^[0-9a-f]{32}$/);
    const topmenu = await http(`${e.url}/cgi/url_redirect.cgi?url_name=topmenu`, {
      headers: { cookie: `SID=${ok.cookies.SID}` },
    });
    expect(topmenu.text).toMatch(/SmcCsrfInsert \("CSRF-TOKEN", "[0-9a-f]{32}"\)/);
    await http(`${e.url}/cgi/logout.cgi`, { headers: { cookie: `SID=${ok.cookies.SID}` } });
    expect(e.state().webSessions).toBe(0);
  });

  it('Lenovo GetRemoteConsoleToken: token opens the viewer socket on the second TLS port, once', async () => {
    const e = await start('xcc');
    expect(e.viewerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const auth = { authorization: basic(e.username, e.password), 'content-type': 'application/json' };
    const np = (await http(`${e.url}/redfish/v1/Managers/1/NetworkProtocol`, { headers: auth })).json();
    expect((np.KVMIP as { Port: number }).Port).toBe(Number(new URL(e.viewerUrl ?? '').port));
    const r = await http(
      `${e.url}/redfish/v1/Managers/1/Oem/Lenovo/RemoteControl/Actions/LenovoRemoteControlService.GetRemoteConsoleToken`,
      { method: 'POST', headers: auth, body: '{}' },
    );
    expect(r.status).toBe(200);
    const token = String(r.json().Token);
    const viewer = wsUrl(e.viewerUrl ?? '', '/');
    const k = await openKvm(viewer, { auth: { type: 'auth', token } });
    expect(k.status).toBe('ok');
    expect((await openKvm(viewer, { auth: { type: 'auth', token } })).status).toBe('denied');
    k.ws.close();
    const rp = await http(`${e.url}/api/providers/rp_port`, {
      headers: { authorization: basic(e.username, e.password) },
    });
    expect(rp.json()).toEqual({ port: Number(new URL(e.viewerUrl ?? '').port) });
  });

  it('iLO: a Redfish X-Auth-Token is the web sessionKey; irc.html without it says "Invalid session key"', async () => {
    const e = await start('ilo5');
    expect((await http(`${e.url}/irc.html`)).text).toContain('Invalid session key');
    const login = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ UserName: e.username, Password: e.password }),
    });
    const token = String(login.headers['x-auth-token']);
    const irc = await http(`${e.url}/irc.html`, { headers: { cookie: `sessionKey=${token}` } });
    expect(irc.text).toContain('__kvmStart');
    const k = await openKvm(wsUrl(e.url, '/wss/ircport'), {
      cookie: `sessionKey=${token}`,
      handshake: iloAnswer(token),
    });
    expect(k.status).toBe('ok');
    const second = await openKvm(wsUrl(e.url, '/wss/ircport'), {
      cookie: `sessionKey=${token}`,
      handshake: iloAnswer(token),
    });
    expect(second.status).toBe('busy');
    expect(second.message).toContain('Acquire');
    k.ws.close();
    const web = await http(`${e.url}/json/login_session`, {
      method: 'POST',
      body: JSON.stringify({ method: 'login', user_login: e.username, password: e.password }),
    });
    expect(web.cookies.sessionKey).toBe(web.json().session_key);
  });
});

describe('the generations added from the captures and web-flow facts', () => {
  it('iDRAC7: no Redfish console action, 12G pages only with gzip, /data/login as iDRAC8', async () => {
    const e = await start('idrac7');
    const auth = { authorization: basic(e.username, e.password) };
    expect(
      (await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService`, { headers: auth }))
        .status,
    ).toBe(404);
    expect((await http(`${e.url}/login.html`)).status).toBe(404);
    expect((await http(`${e.url}/login.html?console`, { headers: { 'accept-encoding': 'gzip' } })).text).toContain(
      'id="user"',
    );
    const login = await http(`${e.url}/data/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `user=${e.username}&password=${e.password}`,
    });
    expect(login.text).toMatch(
      /<authResult>0<\/authResult><forwardUrl>index\.html\?ST1=[0-9a-f]+,ST2=[0-9a-f]+<\/forwardUrl>/,
    );
  });

  it('XCC3: the console token as XCC, and the OpenBMC dialect (/login {"data":[u,p]}, SESSION + XSRF-TOKEN, /kvm/0)', async () => {
    const e = await start('xcc3');
    const login = await http(`${e.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [e.username, e.password] }),
    });
    expect(login.status).toBe(200);
    const { SESSION: session, 'XSRF-TOKEN': xsrf } = login.cookies;
    expect(session && xsrf).toBeTruthy();
    const cookie = `SESSION=${session}; XSRF-TOKEN=${xsrf}`;
    expect((await openKvm(wsUrl(e.url, '/kvm/0'), { cookie, protocols: ['wrong'] })).status).not.toBe('ok');
    const k = await openKvm(wsUrl(e.url, '/kvm/0'), { cookie, protocols: [String(xsrf)] });
    expect(k.status).toBe('ok');
    k.ws.close();
    expect(e.state().launches).toEqual(['login-form']);
    const out = await http(`${e.url}/logout`, { method: 'POST', headers: { cookie, 'x-xsrf-token': String(xsrf) } });
    expect(out.status).toBe(200);
    expect(e.state().webSessions).toBe(0);
  });

  it('Supermicro X12 is classic (login.cgi, no Redfish IKVM); H13 is Redfish-era (login.cgi 400, IKVM link)', async () => {
    const x12 = await start('supermicro-x12');
    const auth = (e: RunningEmulator) => ({ authorization: basic(e.username, e.password) });
    expect((await http(`${x12.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: auth(x12) })).status).toBe(
      404,
    );
    const cgi = await http(`${x12.url}/cgi/login.cgi`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=${x12.username}&pwd=${x12.password}`,
    });
    expect(cgi.text).toContain('url_name=mainmenu');
    const h13 = await start('supermicro-h13');
    expect((await http(`${h13.url}/cgi/login.cgi`, { method: 'POST', body: 'name=a&pwd=b' })).status).toBe(400);
    expect(
      (await http(`${h13.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: auth(h13) })).json().URI,
    ).toMatch(/^\/redfish\/[0-9a-f]+\.IKVM$/);
  });
});

/** The system's reset values as a client sees them: inline, else from the linked ActionInfo. */
async function resetValues(e: RunningEmulator, sys: Record<string, unknown>): Promise<string[]> {
  const reset = (sys.Actions as Record<string, Record<string, unknown>>)['#ComputerSystem.Reset'] ?? {};
  const inline = reset['ResetType@Redfish.AllowableValues'] as string[] | undefined;
  if (inline) return inline;
  const info = (
    await http(`${e.url}${String(reset['@Redfish.ActionInfo'])}`, {
      headers: { authorization: basic(e.username, e.password) },
    })
  ).json();
  return (
    (info.Parameters as { Name: string; AllowableValues: string[] }[]).find((x) => x.Name === 'ResetType')
      ?.AllowableValues ?? []
  );
}

async function waitPower(e: RunningEmulator, path: string, want: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 60; i++) {
    const s = String(
      (await http(`${e.url}${path}`, { headers: { authorization: basic(e.username, e.password) } })).json().PowerState,
    );
    if (seen.at(-1) !== s) seen.push(s);
    if (s === want) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PowerState never became ${want}: ${seen.join(' -> ')}`);
}

describe.each(PROFILE_NAMES)('ComputerSystem Reset and boot override of profile %s', (name) => {
  it('Reset ForceOff/On moves PowerState (PoweringOn window), PATCH Boot honours If-Match, bad values are 400', async () => {
    const e = await start(name);
    const p = getProfile(name);
    const path = `/redfish/v1/Systems/${p.systemId}`;
    const auth = { authorization: basic(e.username, e.password), 'content-type': 'application/json' };
    const got = await http(`${e.url}${path}`, { headers: auth });
    const sys = got.json();
    expect(sys.PowerState).toBe('On');
    const etag = String(got.headers.etag);
    expect(etag).toMatch(/^(W\/)?"[0-9A-Za-z]+"$/);
    const values = await resetValues(e, sys);
    expect(values).toEqual(expect.arrayContaining(['On', 'ForceOff', 'ForceRestart', 'Nmi']));
    const target = `${path}/Actions/ComputerSystem.Reset`;
    expect((sys.Actions as Record<string, { target: string }>)['#ComputerSystem.Reset']?.target).toBe(target);

    const off = await http(`${e.url}${target}`, { method: 'POST', headers: auth, body: '{"ResetType":"ForceOff"}' });
    expect([200, 204]).toContain(off.status);
    expect((await http(`${e.url}${path}`, { headers: auth })).json().PowerState).toBe('Off');
    expect(
      (await http(`${e.url}${target}`, { method: 'POST', headers: auth, body: '{"ResetType":"On"}' })).status,
    ).toBeLessThan(300);
    expect(await waitPower(e, path, 'On')).toEqual(['PoweringOn', 'On']);
    expect(
      (await http(`${e.url}${target}`, { method: 'POST', headers: auth, body: '{"ResetType":"Nmi"}' })).status,
    ).toBeLessThan(300);

    const bad = await http(`${e.url}${target}`, { method: 'POST', headers: auth, body: '{"ResetType":"Explode"}' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json())).toMatch(/ActionParameterValueNotInList.*ResetType/);
    expect((await http(`${e.url}${target}`, { method: 'POST', headers: auth, body: '{}' })).json()).toMatchObject({
      error: { code: 'Base.1.8.ActionParameterMissing' },
    });
    expect((await http(`${e.url}${target}`, { headers: auth })).status).toBe(405);

    // The power changes above changed the representation, so the first ETag is stale now.
    const fresh = await http(`${e.url}${path}`, { headers: auth });
    const now = String(fresh.headers.etag);
    expect(now).not.toBe(etag);
    const boot = JSON.stringify({ Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } });
    const stale = await http(`${e.url}${path}`, {
      method: 'PATCH',
      headers: { ...auth, 'if-match': etag },
      body: boot,
    });
    expect(stale.status).toBe(412);
    expect(stale.json()).toMatchObject({ error: { code: 'Base.1.8.PreconditionFailed' } });
    const ok = await http(`${e.url}${path}`, { method: 'PATCH', headers: { ...auth, 'if-match': now }, body: boot });
    expect([200, 204]).toContain(ok.status);
    expect(ok.headers.etag).not.toBe(now);
    expect((await http(`${e.url}${path}`, { headers: auth })).json().Boot).toMatchObject({
      BootSourceOverrideTarget: 'Pxe',
      BootSourceOverrideEnabled: 'Once',
    });

    const wrong = await http(`${e.url}${path}`, {
      method: 'PATCH',
      headers: auth,
      body: '{"Boot":{"BootSourceOverrideTarget":"Floppy-Disk"}}',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json()).toMatchObject({
      error: {
        code: 'Base.1.8.PropertyValueNotInList',
        '@Message.ExtendedInfo': [{ RelatedProperties: ['#/Boot/BootSourceOverrideTarget'] }],
      },
    });
    expect(String(wrong.json().error && (wrong.json().error as { message: string }).message)).toContain(
      'Boot/BootSourceOverrideTarget',
    );
    const unknown = await http(`${e.url}${path}`, {
      method: 'PATCH',
      headers: auth,
      body: '{"Boot":{"BootNext":"0001"}}',
    });
    expect([unknown.status, (unknown.json().error as { code: string }).code]).toEqual([
      400,
      'Base.1.8.PropertyUnknown',
    ]);
    const readOnly = await http(`${e.url}${path}`, { method: 'PATCH', headers: auth, body: '{"PowerState":"Off"}' });
    expect([readOnly.status, (readOnly.json().error as { code: string }).code]).toEqual([
      400,
      'Base.1.8.PropertyNotWritable',
    ]);
    // A rejected PATCH changes nothing.
    expect((await http(`${e.url}${path}`, { headers: auth })).json().Boot).toMatchObject({
      BootSourceOverrideTarget: 'Pxe',
    });

    // The next boot uses the one-time override up.
    expect(
      (await http(`${e.url}${target}`, { method: 'POST', headers: auth, body: '{"ResetType":"ForceRestart"}' })).status,
    ).toBeLessThan(300);
    await waitPower(e, path, 'On');
    expect((await http(`${e.url}${path}`, { headers: auth })).json().Boot).toMatchObject({
      BootSourceOverrideEnabled: 'Disabled',
    });
  });
});

describe('vendor differences of Reset and PATCH', () => {
  const auth = (e: RunningEmulator) => ({
    authorization: basic(e.username, e.password),
    'content-type': 'application/json',
  });
  const sysOf = async (e: RunningEmulator, id: string) =>
    (await http(`${e.url}/redfish/v1/Systems/${id}`, { headers: auth(e) })).json();

  it('iDRAC 9 lists Nmi and PowerCycle and answers 204; iDRAC 8 lists no GracefulRestart and refuses it', async () => {
    const d9 = await start('idrac9');
    expect(await resetValues(d9, await sysOf(d9, 'System.Embedded.1'))).toEqual([
      'On',
      'ForceOff',
      'ForceRestart',
      'GracefulRestart',
      'GracefulShutdown',
      'PushPowerButton',
      'Nmi',
      'PowerCycle',
    ]);
    const r = await http(`${d9.url}/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset`, {
      method: 'POST',
      headers: auth(d9),
      body: '{"ResetType":"GracefulShutdown"}',
    });
    expect([r.status, r.text]).toEqual([204, '']);
    expect(await waitPower(d9, '/redfish/v1/Systems/System.Embedded.1', 'Off')).toEqual(['PoweringOff', 'Off']);
    const d8 = await start('idrac8');
    expect(await resetValues(d8, await sysOf(d8, 'System.Embedded.1'))).not.toContain('GracefulRestart');
    expect(
      (
        await http(`${d8.url}/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset`, {
          method: 'POST',
          headers: auth(d8),
          body: '{"ResetType":"GracefulRestart"}',
        })
      ).status,
    ).toBe(400);
  });

  it('iLO answers 200 with its ExtendedInfo body and a weak ETag, also in @odata.etag', async () => {
    const e = await start('ilo6');
    const got = await http(`${e.url}/redfish/v1/Systems/1`, { headers: auth(e) });
    expect(String(got.headers.etag)).toMatch(/^W\/"[0-9A-F]{8}"$/);
    expect(got.json()['@odata.etag']).toBe(got.headers.etag);
    const r = await http(`${e.url}/redfish/v1/Systems/1/Actions/ComputerSystem.Reset`, {
      method: 'POST',
      headers: auth(e),
      body: '{"ResetType":"PushPowerButton"}',
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ error: { '@Message.ExtendedInfo': [{ MessageId: 'Base.1.4.Success' }] } });
    // Weak comparison: the strong form of the same tag matches too.
    const strong = String((await http(`${e.url}/redfish/v1/Systems/1`, { headers: auth(e) })).headers.etag).slice(2);
    expect(
      (
        await http(`${e.url}/redfish/v1/Systems/1`, {
          method: 'PATCH',
          headers: { ...auth(e), 'if-match': strong },
          body: '{"Boot":{"BootSourceOverrideTarget":"UefiHttp","HttpBootUri":null}}',
        })
      ).status,
    ).toBe(200);
  });

  it('XCC lists Once and Disabled only: Continuous is 400 naming the property', async () => {
    const e = await start('xcc');
    expect((await sysOf(e, '1')).Boot).toMatchObject({
      'BootSourceOverrideEnabled@Redfish.AllowableValues': ['Once', 'Disabled'],
    });
    const r = await http(`${e.url}/redfish/v1/Systems/1`, {
      method: 'PATCH',
      headers: auth(e),
      body: '{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Continuous"}}',
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Boot/BootSourceOverrideEnabled');
  });

  it('Supermicro X12 lists "GracefulShutdownGracefulRestart" (as the captures) yet carries out GracefulShutdown; X13 lists values only in ActionInfo', async () => {
    const x12 = await start('supermicro-x12');
    const sys = await sysOf(x12, '1');
    expect((sys.Actions as Record<string, Record<string, unknown>>)['#ComputerSystem.Reset']).toMatchObject({
      'ResetType@Redfish.AllowableValues': [
        'On',
        'ForceOff',
        'GracefulShutdownGracefulRestart',
        'ForceRestart',
        'Nmi',
        'ForceOn',
      ],
      '@Redfish.ActionInfo': '/redfish/v1/Systems/1/ResetActionInfo',
    });
    const r = await http(`${x12.url}/redfish/v1/Systems/1/Actions/ComputerSystem.Reset`, {
      method: 'POST',
      headers: auth(x12),
      body: '{"ResetType":"GracefulShutdown"}',
    });
    expect(r.json()).toEqual({ Success: { code: 'Base.v1_4_0.Success', Message: 'Successfully Completed Request.' } });
    expect(
      (
        await http(`${x12.url}/redfish/v1/Systems/1/Actions/ComputerSystem.Reset`, {
          method: 'POST',
          headers: auth(x12),
          body: '{"ResetType":"PushPowerButton"}',
        })
      ).status,
    ).toBe(400);
    const x13 = await start('supermicro-x13');
    const reset13 = ((await sysOf(x13, '1')).Actions as Record<string, Record<string, unknown>>)[
      '#ComputerSystem.Reset'
    ];
    expect(reset13?.['ResetType@Redfish.AllowableValues']).toBeUndefined();
    expect(await resetValues(x13, await sysOf(x13, '1'))).toContain('GracefulShutdown');
  });

  it('OpenBMC: each host of a multi-host BMC has its own power state', async () => {
    const e = await start('openbmc');
    await http(`${e.url}/redfish/v1/Systems/system2/Actions/ComputerSystem.Reset`, {
      method: 'POST',
      headers: auth(e),
      body: '{"ResetType":"ForceOff"}',
    });
    expect([(await sysOf(e, 'system')).PowerState, (await sysOf(e, 'system2')).PowerState]).toEqual(['On', 'Off']);
    expect(
      (
        await http(`${e.url}/redfish/v1/Systems/system3/Actions/ComputerSystem.Reset`, {
          method: 'POST',
          headers: auth(e),
          body: '{"ResetType":"On"}',
        })
      ).status,
    ).toBe(404);
  });
});
