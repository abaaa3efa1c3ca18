import type { Ctx, WebUi } from './context.js';
import { basicAuth, header, jsonBody, sendJson, type Req, type Res } from './http.js';
import { digits, hexToken, type Session } from './state.js';

const V1 = '/redfish/v1';
const SESSIONS = `${V1}/SessionService/Sessions`;

export function redfishError(res: Res, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code: `Base.1.8.${code}`, message, '@Message.ExtendedInfo': [{ MessageId: `Base.1.8.${code}`, Message: message, Severity: 'Critical' }] } }, headers);
}

type Auth = { kind: 'session'; session: Session } | { kind: 'basic'; user: string } | { kind: 'none'; why: string };

/** Authenticates a Redfish request: X-Auth-Token, Basic, or the vendor's session cookie. */
export function redfishAuth(ctx: Ctx, ui: WebUi, req: Req): Auth {
  const token = header(req, 'x-auth-token');
  if (token) {
    // iLO shares one key space between Redfish and web sessions; XCC's web Bearer token works too.
    const s = ctx.state.findByToken(token, ctx.profile.family === 'ilo' ? ['redfish', 'web'] : ['redfish']);
    return s ? { kind: 'session', session: s } : { kind: 'none', why: 'invalid or expired X-Auth-Token' };
  }
  const authz = header(req, 'authorization');
  if (authz && /^bearer /i.test(authz)) {
    const s = ctx.state.findByToken(authz.slice(7).trim(), ['web', 'redfish']);
    return s ? { kind: 'session', session: s } : { kind: 'none', why: 'invalid or expired bearer token' };
  }
  const basic = basicAuth(req);
  if (basic) return ctx.checkLogin(basic.user, basic.password) ? { kind: 'basic', user: basic.user } : { kind: 'none', why: 'invalid username or password' };
  const c = ui.redfishCookieAuth?.(req);
  if (c === 'csrf') return { kind: 'none', why: 'missing or wrong X-XSRF-TOKEN header' };
  if (c) return { kind: 'session', session: c };
  return { kind: 'none', why: 'no credentials' };
}

function link(path: string): { '@odata.id': string } {
  return { '@odata.id': path };
}

function collection(path: string, type: string, name: string, members: string[]): Record<string, unknown> {
  return { '@odata.id': path, '@odata.type': `#${type}.${type}`, Name: name, Members: members.map(link), 'Members@odata.count': members.length };
}

function sessionResource(s: Session): Record<string, unknown> {
  return { '@odata.id': `${SESSIONS}/${s.id}`, '@odata.type': '#Session.v1_3_0.Session', Id: s.id, Name: 'User Session', UserName: s.user, SessionType: 'Redfish' };
}

/** The profile's resources, by path (lower case). Built per request so feature toggles show at once. */
function resources(ctx: Ctx): Map<string, Record<string, unknown>> {
  const p = ctx.profile;
  const sys = `${V1}/Systems/${p.systemId}`;
  const mgr = `${V1}/Managers/${p.managerId}`;
  const ch = `${V1}/Chassis/${p.chassisId}`;
  const m = new Map<string, Record<string, unknown>>();
  const add = (path: string, body: Record<string, unknown>) => m.set(path.toLowerCase(), { '@odata.id': path, ...body });
  add(`${V1}/Systems`, collection(`${V1}/Systems`, 'ComputerSystemCollection', 'Computer System Collection', [sys]));
  add(sys, {
    '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem', Id: p.systemId, Name: 'System', SystemType: 'Physical',
    HostName: ctx.node, Status: { State: 'Enabled', Health: 'OK' }, ...p.system,
    GraphicalConsole: { ConnectTypesSupported: ['KVMIP'], MaxConcurrentSessions: p.maxKvmSessions, ServiceEnabled: true },
    Boot: { BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideTarget: 'None', 'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'] },
    Actions: { '#ComputerSystem.Reset': { target: `${sys}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart'] } },
    Links: { ManagedBy: [link(mgr)], Chassis: [link(ch)] },
  });
  add(`${V1}/Managers`, collection(`${V1}/Managers`, 'ManagerCollection', 'Manager Collection', [mgr]));
  const managerLinks = (p.manager.Links as Record<string, unknown> | undefined) ?? {};
  add(mgr, {
    '@odata.type': '#Manager.v1_10_0.Manager', Id: p.managerId, Status: { State: 'Enabled', Health: 'OK' }, ...p.manager,
    NetworkProtocol: link(`${mgr}/NetworkProtocol`),
    Actions: { '#Manager.Reset': { target: `${mgr}/Actions/Manager.Reset`, 'ResetType@Redfish.AllowableValues': ['GracefulRestart'] } },
    Links: { ...managerLinks, ManagerForServers: [link(sys)], ManagerForChassis: [link(ch)] },
  });
  add(`${mgr}/NetworkProtocol`, { '@odata.type': '#ManagerNetworkProtocol.v1_5_0.ManagerNetworkProtocol', Id: 'NetworkProtocol', Name: 'Manager Network Protocol', ...p.networkProtocol, ...(p.family === 'xcc' ? { KVMIP: { Port: ctx.rpPort() ?? 3900, ProtocolEnabled: true } } : {}) });
  add(`${V1}/Chassis`, collection(`${V1}/Chassis`, 'ChassisCollection', 'Chassis Collection', [ch]));
  add(ch, { '@odata.type': '#Chassis.v1_14_0.Chassis', Id: p.chassisId, Name: 'Chassis', ChassisType: 'RackMount', ...p.chassis, Links: { ManagedBy: [link(mgr)], ComputerSystems: [link(sys)] } });
  add(`${V1}/SessionService`, {
    '@odata.type': '#SessionService.v1_1_8.SessionService', Id: 'SessionService', Name: 'Session Service', ServiceEnabled: true,
    SessionTimeout: ctx.faults.sessionTimeoutS ?? 1800, Sessions: link(SESSIONS),
  });
  if (p.family === 'idrac' && ctx.profile.generation !== '8') {
    const svc = `${mgr}/Oem/Dell/DelliDRACCardService`;
    const actions: Record<string, unknown> = {};
    if (ctx.has('kvm-action')) actions['#DelliDRACCardService.GetKVMSession'] = { target: `${svc}/Actions/DelliDRACCardService.GetKVMSession`, 'SessionTypeName@Redfish.AllowableValues': [] };
    add(svc, { '@odata.type': '#DelliDRACCardService.v1_6_0.DelliDRACCardService', Id: 'DelliDRACCardService', Name: 'DelliDRACCardService', Actions: actions });
  }
  if (p.family === 'xcc') {
    const rc = `${mgr}/Oem/Lenovo/RemoteControl`;
    const actions: Record<string, unknown> = {};
    if (ctx.has('kvm-action')) actions['#LenovoRemoteControlService.GetRemoteConsoleToken'] = { title: 'GetRemoteConsoleToken', target: `${rc}/Actions/LenovoRemoteControlService.GetRemoteConsoleToken` };
    add(rc, { '@odata.type': '#LenovoRemoteControlService.v1_0_0.LenovoRemoteControlService', Id: 'RemoteControl', Name: 'Remote Control', ServiceEnabled: true, Actions: actions, Sessions: link(`${rc}/Sessions`) });
  }
  if (p.family === 'ilo' && p.generation !== '4') {
    add(`${mgr}/RcInfo`, { Enabled: true, MasterKey: hexToken(16), ProtocolVersion: '1.0', RcPort: 17990, VmPort: 17988 });
  }
  return m;
}

export function serviceRoot(ctx: Ctx): Record<string, unknown> {
  const p = ctx.profile;
  return {
    '@odata.id': `${V1}/`, '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot', ...p.root,
    Systems: link(`${V1}/Systems`), Managers: link(`${V1}/Managers`), Chassis: link(`${V1}/Chassis`),
    SessionService: link(`${V1}/SessionService`), Links: { Sessions: link(SESSIONS) },
  };
}

/** Redfish service: standard resources plus the vendor console actions. */
export async function handleRedfish(ctx: Ctx, ui: WebUi, req: Req, res: Res, fixture?: Map<string, unknown>): Promise<boolean> {
  const path = req.path;
  if (path === '/redfish') {
    sendJson(res, 200, { v1: '/redfish/v1/' });
    return true;
  }
  if (!path.toLowerCase().startsWith(V1.toLowerCase())) return false;
  const lower = path.toLowerCase();
  if (lower === V1.toLowerCase() && req.method === 'GET') {
    sendJson(res, 200, fixture?.get(V1.toLowerCase()) ?? serviceRoot(ctx));
    return true;
  }
  // Login: POST Sessions is the only unauthenticated write.
  if (lower === SESSIONS.toLowerCase() && req.method === 'POST') {
    const body = jsonBody(req) as Record<string, unknown> | undefined;
    if (!body || typeof body.UserName !== 'string' || typeof body.Password !== 'string') {
      redfishError(res, 400, 'PropertyMissing', 'The request body must be JSON with UserName and Password strings.');
      return true;
    }
    if (!ctx.checkLogin(body.UserName, body.Password)) {
      redfishError(res, 401, 'NoValidSession', 'Login failed: invalid username or password.');
      return true;
    }
    const s = ctx.state.createSession('redfish', body.UserName);
    const cookieOnly = ui.onRedfishSession?.(req, res, s) === true;
    const location = `${SESSIONS}/${s.id}`;
    sendJson(res, 201, sessionResource(s), { location, ...(cookieOnly ? {} : { 'x-auth-token': s.token }) });
    return true;
  }
  const auth = redfishAuth(ctx, ui, req);
  if (auth.kind === 'none') {
    redfishError(res, 401, 'NoValidSession', `Authentication required: ${auth.why}.`, { 'www-authenticate': 'Basic realm="Redfish"' });
    return true;
  }
  // Sessions
  if (lower === SESSIONS.toLowerCase() && req.method === 'GET') {
    const ids = [...ctx.state.sessions.values()].filter((s) => s.kind === 'redfish').map((s) => `${SESSIONS}/${s.id}`);
    sendJson(res, 200, collection(SESSIONS, 'SessionCollection', 'Session Collection', ids));
    return true;
  }
  const sm = /^\/redfish\/v1\/sessionservice\/sessions\/([^/]+)$/i.exec(path);
  if (sm) {
    const s = ctx.state.findById(sm[1] ?? '');
    if (!s || s.kind !== 'redfish') {
      redfishError(res, 404, 'ResourceMissingAtURI', `The session ${sm[1]} does not exist.`);
      return true;
    }
    if (req.method === 'DELETE') {
      ctx.state.endSession(s, 'redfish DELETE');
      res.writeHead(204).end();
      return true;
    }
    sendJson(res, 200, sessionResource(s));
    return true;
  }
  if (await vendorAction(ctx, req, res, auth)) return true;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    redfishError(res, 405, 'ActionNotSupported', `${req.method} is not supported on ${path}.`);
    return true;
  }
  const body = fixture ? (fixture.get(lower) as Record<string, unknown> | undefined) : resources(ctx).get(lower);
  if (!body) {
    redfishError(res, 404, 'ResourceMissingAtURI', `The resource at the URI ${path} was not found.`);
    return true;
  }
  sendJson(res, 200, body);
  return true;
}

/** The console shortcuts: Dell GetKVMSession, Lenovo GetRemoteConsoleToken, Supermicro IKVM. */
async function vendorAction(ctx: Ctx, req: Req, res: Res, auth: Auth): Promise<boolean> {
  const p = ctx.profile;
  const lower = req.path.toLowerCase();
  const mgr = `${V1}/Managers/${p.managerId}`.toLowerCase();
  if (p.family === 'idrac' && p.generation !== '8') {
    const paths = [
      `${mgr}/oem/dell/dellidraccardservice/actions/dellidraccardservice.getkvmsession`,
      `${V1}/dell/managers/${p.managerId}/dellidraccardservice/actions/dellidraccardservice.getkvmsession`.toLowerCase(),
    ];
    if (paths.includes(lower)) {
      if (req.method !== 'POST') return redfishError(res, 405, 'ActionNotSupported', 'Use POST.'), true;
      if (!ctx.has('kvm-action')) return redfishError(res, 400, 'ActionNotSupported', 'The action GetKVMSession is not supported by the resource.'), true;
      const body = jsonBody(req) as Record<string, unknown> | undefined;
      if (!body || typeof body.SessionTypeName !== 'string') return redfishError(res, 400, 'ActionParameterMissing', 'The action GetKVMSession requires the parameter SessionTypeName.'), true;
      const t = ctx.state.issueTicket(digits(24), digits(24));
      sendJson(res, 200, { TempUsername: t.key, TempPassword: t.secret });
      return true;
    }
  }
  if (p.family === 'xcc' && lower === `${mgr}/oem/lenovo/remotecontrol/actions/lenovoremotecontrolservice.getremoteconsoletoken`) {
    if (req.method !== 'POST') return redfishError(res, 405, 'ActionNotSupported', 'Use POST.'), true;
    if (!ctx.has('kvm-action')) return redfishError(res, 404, 'ResourceMissingAtURI', 'The action GetRemoteConsoleToken is not available.'), true;
    const t = ctx.state.issueTicket(hexToken(20), 'xcc');
    sendJson(res, 200, { Token: t.key });
    return true;
  }
  if (p.family === 'smc-bmc' && lower === `${mgr}/oem/supermicro/ikvm`) {
    if (req.method === 'PATCH') {
      const body = jsonBody(req) as Record<string, unknown> | undefined;
      const v = body?.['Current interface'] ?? body?.['Current Interface'];
      if (v !== 'HTML 5' && v !== 'JAVA plug-in') return redfishError(res, 400, 'PropertyValueNotInList', '"Current interface" must be "HTML 5" or "JAVA plug-in".'), true;
      if (v === 'HTML 5') ctx.features.add('kvm-action');
      else ctx.features.delete('kvm-action');
      res.writeHead(204).end();
      return true;
    }
    if (req.method !== 'GET') return false;
    const body: Record<string, unknown> = {
      '@odata.type': '#IKVM.v1_0_2.IKVM', '@odata.id': `${V1}/Managers/${p.managerId}/Oem/Supermicro/IKVM`, Id: 'IKVM', Name: 'IKVM',
      'Current interface': ctx.has('kvm-action') ? 'HTML 5' : 'JAVA plug-in',
    };
    if (ctx.has('kvm-action')) {
      const t = ctx.state.issueTicket(hexToken(16), hexToken(12));
      body.URI = `/redfish/${t.key}.IKVM`;
    }
    void auth;
    sendJson(res, 200, body);
    return true;
  }
  return false;
}
