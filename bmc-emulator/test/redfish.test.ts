import { afterAll, describe, expect, it } from 'vitest';
import { createRedfishClient } from 'bmc-console/redfish/client';
import { discover } from 'bmc-console/discovery/discover';
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
  it('serves the root unauthenticated, sessions, Systems and Managers, and is discovered as itself', async () => {
    const e = await start(name);
    const p = getProfile(name);
    const root = await http(`${e.url}/redfish/v1/`);
    expect(root.status).toBe(200);
    expect(root.json()).toMatchObject({ ...p.root, Systems: { '@odata.id': '/redfish/v1/Systems' } });

    expect((await http(`${e.url}/redfish/v1/Managers`)).status).toBe(401);
    const bad = await http(`${e.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ UserName: e.username, Password: 'wrong' }) });
    expect(bad.status).toBe(401);

    const login = await http(`${e.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ UserName: e.username, Password: e.password }) });
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
    expect(mgr).toMatchObject({ Id: p.managerId, ...(p.manager.Model ? { Model: p.manager.Model } : {}), FirmwareVersion: p.manager.FirmwareVersion });
    const systems = (await http(`${e.url}/redfish/v1/Systems`, { headers: { authorization: basic(e.username, e.password) } })).json();
    expect(systems.Members).toEqual([p.systemId, ...(p.extraSystemIds ?? [])].map((id) => ({ '@odata.id': `/redfish/v1/Systems/${id}` })));
    expect((await http(`${e.url}/redfish/v1/Systems/${p.systemId}`, { headers: h })).json()).toMatchObject({ Id: p.systemId });

    expect((await http(`${e.url}${location}`, { method: 'DELETE', headers: h })).status).toBe(204);
    expect((await http(`${e.url}/redfish/v1/Managers`, { headers: h })).status).toBe(401);
    expect(e.state().redfishSessions).toBe(0);
    expect(e.state().logouts).toEqual([expect.objectContaining({ kind: 'redfish' })]);

    // The project's own discovery (written from the 41 real captures) must see the profile as itself.
    const d = await discover(createRedfishClient({ origin: e.url, username: e.username, password: e.password, verifyCa: false }));
    expect({ family: d.family, managerId: d.managerId }).toEqual({ family: p.family, managerId: p.managerId });
    expect(d.generation).toBe(p.generation);
  });
});

describe('vendor console actions', () => {
  it('Dell GetKVMSession gives a one-shot VCSID pair that /console and the viewer accept', async () => {
    const e = await start('idrac9');
    const svc = (await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService`, { headers: { authorization: basic(e.username, e.password) } })).json();
    const target = (svc.Actions as Record<string, { target: string }>)['#DelliDRACCardService.GetKVMSession']?.target;
    expect(target).toBe('/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.GetKVMSession');
    const r = await http(`${e.url}${target}`, { method: 'POST', headers: { authorization: basic(e.username, e.password), 'content-type': 'application/json' }, body: '{"SessionTypeName":"Dell"}' });
    expect(r.status).toBe(200);
    const { TempUsername: u, TempPassword: pw } = r.json() as { TempUsername: string; TempPassword: string };
    expect(u).toMatch(/^\d{24}$/);
    const c = await http(`${e.url}/console?username=${e.username}&tempUsername=${u}&tempPassword=${pw}`);
    expect(c.status).toBe(302);
    expect(String(c.headers.location)).toContain(`/restgui/vconsole/index.html?ip=127.0.0.1&kvmport=${e.port}&title=`);
    const viewer = await http(String(c.headers.location), { headers: { 'accept-encoding': 'gzip' } });
    expect(viewer.text).toContain('FPS:');
    const k = await openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${u}`), { protocols: ['binary'], handshake: idracAnswer(pw) });
    expect(k.status).toBe('ok');
    expect(k.ws.protocol).toBe('binary');
    // One-shot: the same VCSID does not open a second console.
    expect((await openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${u}`))).status).toBe('http-401');
    k.ws.close();
    // The KEY2 answer must carry the pair's VCSID2.
    const r2 = (await http(`${e.url}${target}`, { method: 'POST', headers: { authorization: basic(e.username, e.password), 'content-type': 'application/json' }, body: '{"SessionTypeName":"Dell"}' })).json();
    const wrong = await openKvm(wsUrl(e.url, `/vnc/vconsole?vck=${String(r2.TempUsername)}`), { protocols: ['binary'], handshake: idracAnswer('0'.repeat(24)) });
    expect(wrong.status).toBe('denied');
  });

  it('Dell web API: quoted header login, XSRF-TOKEN, vconsole Location, logout', async () => {
    const e = await start('idrac10');
    const r = await http(`${e.url}/sysmgmt/2015/bmc/session`, { method: 'POST', headers: { user: `"${e.username}"`, password: `"${e.password}"` } });
    expect(r.status).toBe(201);
    expect(r.json()).toEqual({ authResult: 0 });
    const xsrf = String(r.headers['xsrf-token']);
    const cookie = `-http-session-=${r.cookies['-http-session-']}`;
    expect((await http(`${e.url}/sysmgmt/2015/server/vconsole`, { headers: { cookie } })).status).toBe(401);
    const v = (await http(`${e.url}/sysmgmt/2015/server/vconsole`, { headers: { cookie, 'xsrf-token': xsrf } })).json();
    expect(String(v.Location)).toMatch(/\/restgui\/vconsole\/index\.html\?ip=.*&VCSID=\d{24}&VCSID2=\d{24}$/);
    expect((await http(`${e.url}/sysmgmt/2015/bmc/session`, { method: 'DELETE', headers: { cookie, 'xsrf-token': xsrf } })).status).toBe(200);
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
    const svc = (await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService`, { headers: auth })).json();
    expect(svc.Actions).toEqual({});
    const r = await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.GetKVMSession`, { method: 'POST', headers: auth, body: '{"SessionTypeName":"x"}' });
    expect(r.status).toBe(400);
  });

  it('Supermicro X13: Redfish login sets SID; IKVM URI page needs a token; its socket needs SID + entry_value', async () => {
    const e = await start('supermicro-x13');
    expect((await http(`${e.url}/cgi/login.cgi`, { method: 'POST', body: 'name=a&pwd=b' })).status).toBe(400);
    const login = await http(`${e.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ UserName: e.username, Password: e.password }) });
    const token = String(login.headers['x-auth-token']);
    expect(login.cookies.SID).toBe(token);
    const ikvm = (await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: { 'x-auth-token': token } })).json();
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
    expect((await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { method: 'PATCH', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: '{"Current interface":"JAVA plug-in"}' })).status).toBe(204);
    const java = (await http(`${e.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: { 'x-auth-token': token } })).json();
    expect(java).toMatchObject({ 'Current interface': 'JAVA plug-in' });
    expect(java.URI).toBeUndefined();
  });

  it('Supermicro X11: login.cgi plain and base64, 200 on failure, SID cookie, logout', async () => {
    const e = await start('supermicro-x11');
    const failed = await http(`${e.url}/cgi/login.cgi`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=ADMIN&pwd=nope' });
    expect(failed.status).toBe(200);
    expect(failed.text).not.toContain('url_name=mainmenu');
    const b64 = (s: string) => encodeURIComponent(Buffer.from(s).toString('base64'));
    const ok = await http(`${e.url}/cgi/login.cgi`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `name=${b64(e.username)}&pwd=${b64(e.password)}&check=00` });
    expect(ok.text).toContain('url_redirect.cgi?url_name=mainmenu');
    expect(ok.cookies.SID).toMatch(/^[0-9a-f]{32}$/);
    const topmenu = await http(`${e.url}/cgi/url_redirect.cgi?url_name=topmenu`, { headers: { cookie: `SID=${ok.cookies.SID}` } });
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
    const r = await http(`${e.url}/redfish/v1/Managers/1/Oem/Lenovo/RemoteControl/Actions/LenovoRemoteControlService.GetRemoteConsoleToken`, { method: 'POST', headers: auth, body: '{}' });
    expect(r.status).toBe(200);
    const token = String(r.json().Token);
    const viewer = wsUrl(e.viewerUrl ?? '', '/');
    const k = await openKvm(viewer, { auth: { type: 'auth', token } });
    expect(k.status).toBe('ok');
    expect((await openKvm(viewer, { auth: { type: 'auth', token } })).status).toBe('denied');
    k.ws.close();
    const rp = await http(`${e.url}/api/providers/rp_port`, { headers: { authorization: basic(e.username, e.password) } });
    expect(rp.json()).toEqual({ port: Number(new URL(e.viewerUrl ?? '').port) });
  });

  it('iLO: a Redfish X-Auth-Token is the web sessionKey; irc.html without it says "Invalid session key"', async () => {
    const e = await start('ilo5');
    expect((await http(`${e.url}/irc.html`)).text).toContain('Invalid session key');
    const login = await http(`${e.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ UserName: e.username, Password: e.password }) });
    const token = String(login.headers['x-auth-token']);
    const irc = await http(`${e.url}/irc.html`, { headers: { cookie: `sessionKey=${token}` } });
    expect(irc.text).toContain('__kvmStart');
    const k = await openKvm(wsUrl(e.url, '/wss/ircport'), { cookie: `sessionKey=${token}`, handshake: iloAnswer(token) });
    expect(k.status).toBe('ok');
    const second = await openKvm(wsUrl(e.url, '/wss/ircport'), { cookie: `sessionKey=${token}`, handshake: iloAnswer(token) });
    expect(second.status).toBe('busy');
    expect(second.message).toContain('Acquire');
    k.ws.close();
    const web = await http(`${e.url}/json/login_session`, { method: 'POST', body: JSON.stringify({ method: 'login', user_login: e.username, password: e.password }) });
    expect(web.cookies.sessionKey).toBe(web.json().session_key);
  });
});

describe('the generations added from the captures and web-flow facts', () => {
  it('iDRAC7: no Redfish console action, 12G pages only with gzip, /data/login as iDRAC8', async () => {
    const e = await start('idrac7');
    const auth = { authorization: basic(e.username, e.password) };
    expect((await http(`${e.url}/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService`, { headers: auth })).status).toBe(404);
    expect((await http(`${e.url}/login.html`)).status).toBe(404);
    expect((await http(`${e.url}/login.html?console`, { headers: { 'accept-encoding': 'gzip' } })).text).toContain('id="user"');
    const login = await http(`${e.url}/data/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `user=${e.username}&password=${e.password}` });
    expect(login.text).toMatch(/<authResult>0<\/authResult><forwardUrl>index\.html\?ST1=[0-9a-f]+,ST2=[0-9a-f]+<\/forwardUrl>/);
  });

  it('XCC3: the console token as XCC, and the OpenBMC dialect (/login {"data":[u,p]}, SESSION + XSRF-TOKEN, /kvm/0)', async () => {
    const e = await start('xcc3');
    const login = await http(`${e.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: [e.username, e.password] }) });
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
    expect((await http(`${x12.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: auth(x12) })).status).toBe(404);
    const cgi = await http(`${x12.url}/cgi/login.cgi`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `name=${x12.username}&pwd=${x12.password}` });
    expect(cgi.text).toContain('url_name=mainmenu');
    const h13 = await start('supermicro-h13');
    expect((await http(`${h13.url}/cgi/login.cgi`, { method: 'POST', body: 'name=a&pwd=b' })).status).toBe(400);
    expect((await http(`${h13.url}/redfish/v1/Managers/1/Oem/Supermicro/IKVM`, { headers: auth(h13) })).json().URI).toMatch(/^\/redfish\/[0-9a-f]+\.IKVM$/);
  });
});
