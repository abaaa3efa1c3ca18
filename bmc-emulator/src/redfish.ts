import { createHash } from 'node:crypto';
import type { Ctx, WebUi } from './context.js';
import { basicAuth, header, jsonBody, sendJson, type Req, type Res } from './http.js';
import { legacyIdrac, type Profile } from './profiles.js';
import { digits, hexToken, HostSystem, type BootOverride, type EmulatorState, type Session } from './state.js';

/** Supermicro BMCs whose HTML 5 interface was selected by PATCH: their IKVM links count as the "ikvm-patch" path. */
const patchedIkvm = new WeakSet<EmulatorState>();

const V1 = '/redfish/v1';
const SESSIONS = `${V1}/SessionService/Sessions`;

interface ErrorDetail {
  args?: string[];
  related?: string[];
  registry?: string;
}

function redfishError(
  res: Res,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  detail: ErrorDetail = {},
): void {
  const id = `${detail.registry ?? 'Base.1.8'}.${code}`;
  const info = {
    MessageId: id,
    Message: message,
    Severity: 'Critical',
    ...(detail.args ? { MessageArgs: detail.args } : {}),
    ...(detail.related ? { RelatedProperties: detail.related } : {}),
  };
  sendJson(res, status, { error: { code: id, message, '@Message.ExtendedInfo': [info] } }, headers);
}

type Auth = { kind: 'session'; session: Session } | { kind: 'basic'; user: string } | { kind: 'none'; why: string };

/** Authenticates a Redfish request: X-Auth-Token, Basic, or the vendor's session cookie. */
function redfishAuth(ctx: Ctx, ui: WebUi, req: Req): Auth {
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
  if (basic)
    return ctx.checkLogin(basic.user, basic.password)
      ? { kind: 'basic', user: basic.user }
      : { kind: 'none', why: 'invalid username or password' };
  const c = ui.redfishCookieAuth?.(req);
  if (c === 'csrf') return { kind: 'none', why: 'missing or wrong X-XSRF-TOKEN header' };
  if (c) return { kind: 'session', session: c };
  return { kind: 'none', why: 'no credentials' };
}

function link(path: string): { '@odata.id': string } {
  return { '@odata.id': path };
}

function collection(path: string, type: string, name: string, members: string[]): Record<string, unknown> {
  return {
    '@odata.id': path,
    '@odata.type': `#${type}.${type}`,
    Name: name,
    Members: members.map(link),
    'Members@odata.count': members.length,
  };
}

function sessionResource(s: Session): Record<string, unknown> {
  return {
    '@odata.id': `${SESSIONS}/${s.id}`,
    '@odata.type': '#Session.v1_3_0.Session',
    Id: s.id,
    Name: 'User Session',
    UserName: s.user,
    SessionType: 'Redfish',
  };
}

/** The profile's resources, by path (lower case). Built per request so feature toggles show at once. */
function resources(ctx: Ctx): Map<string, Record<string, unknown>> {
  const p = ctx.profile;
  const sys = `${V1}/Systems/${p.systemId}`;
  const systems = [sys, ...(p.extraSystemIds ?? []).map((id) => `${V1}/Systems/${id}`)];
  const mgr = `${V1}/Managers/${p.managerId}`;
  const ch = `${V1}/Chassis/${p.chassisId}`;
  const m = new Map<string, Record<string, unknown>>();
  const add = (path: string, body: Record<string, unknown>) =>
    m.set(path.toLowerCase(), { '@odata.id': path, ...body });
  add(`${V1}/Systems`, collection(`${V1}/Systems`, 'ComputerSystemCollection', 'Computer System Collection', systems));
  const model = systemModel(p);
  for (const path of systems) {
    const id = path.slice(path.lastIndexOf('/') + 1);
    const host = hostOf(ctx, id);
    const reset: Record<string, unknown> = { target: `${path}/Actions/ComputerSystem.Reset` };
    if (model.resetListed) reset['ResetType@Redfish.AllowableValues'] = model.resetListed;
    if (model.actionInfo) reset['@Redfish.ActionInfo'] = `${path}/ResetActionInfo`;
    const power = host.powerState();
    add(path, {
      '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem',
      Id: id,
      Name: 'System',
      SystemType: 'Physical',
      HostName: path === sys ? ctx.node : `${ctx.node}-${id}`,
      Status: { State: 'Enabled', Health: 'OK' },
      ...p.system,
      PowerState: power,
      ...(model.etagInBody ? { '@odata.etag': etagOf(model, id, host) } : {}),
      GraphicalConsole: {
        ConnectTypesSupported: ['KVMIP'],
        MaxConcurrentSessions: p.maxKvmSessions,
        ServiceEnabled: true,
      },
      Boot: bootResource(model, host.boot),
      Actions: { '#ComputerSystem.Reset': reset },
      Links: { ManagedBy: [link(mgr)], Chassis: [link(ch)] },
    });
    if (model.actionInfo) {
      add(`${path}/ResetActionInfo`, {
        '@odata.type': '#ActionInfo.v1_1_2.ActionInfo',
        Id: 'ResetActionInfo',
        Name: 'Reset Action Info',
        Parameters: [
          {
            Name: 'ResetType',
            Required: true,
            DataType: 'String',
            AllowableValues: model.resetListed ?? model.resetAccepted,
          },
        ],
      });
    }
  }
  add(`${V1}/Managers`, collection(`${V1}/Managers`, 'ManagerCollection', 'Manager Collection', [mgr]));
  const managerLinks = (p.manager.Links as Record<string, unknown> | undefined) ?? {};
  add(mgr, {
    '@odata.type': '#Manager.v1_10_0.Manager',
    Id: p.managerId,
    Status: { State: 'Enabled', Health: 'OK' },
    ...p.manager,
    NetworkProtocol: link(`${mgr}/NetworkProtocol`),
    Actions: {
      '#Manager.Reset': {
        target: `${mgr}/Actions/Manager.Reset`,
        'ResetType@Redfish.AllowableValues': ['GracefulRestart'],
      },
    },
    Links: { ...managerLinks, ManagerForServers: systems.map(link), ManagerForChassis: [link(ch)] },
  });
  add(`${mgr}/NetworkProtocol`, {
    '@odata.type': '#ManagerNetworkProtocol.v1_5_0.ManagerNetworkProtocol',
    Id: 'NetworkProtocol',
    Name: 'Manager Network Protocol',
    ...p.networkProtocol,
    ...(p.family === 'xcc' ? { KVMIP: { Port: ctx.rpPort() ?? 3900, ProtocolEnabled: true } } : {}),
  });
  add(`${V1}/Chassis`, collection(`${V1}/Chassis`, 'ChassisCollection', 'Chassis Collection', [ch]));
  add(ch, {
    '@odata.type': '#Chassis.v1_14_0.Chassis',
    Id: p.chassisId,
    Name: 'Chassis',
    ChassisType: 'RackMount',
    ...p.chassis,
    Links: { ManagedBy: [link(mgr)], ComputerSystems: systems.map(link) },
  });
  add(`${V1}/SessionService`, {
    '@odata.type': '#SessionService.v1_1_8.SessionService',
    Id: 'SessionService',
    Name: 'Session Service',
    ServiceEnabled: true,
    SessionTimeout: ctx.faults.sessionTimeoutS ?? 1800,
    Sessions: link(SESSIONS),
  });
  if (p.family === 'idrac' && !legacyIdrac(p)) {
    const svc = `${mgr}/Oem/Dell/DelliDRACCardService`;
    const actions: Record<string, unknown> = {};
    if (ctx.has('kvm-action'))
      actions['#DelliDRACCardService.GetKVMSession'] = {
        target: `${svc}/Actions/DelliDRACCardService.GetKVMSession`,
        'SessionTypeName@Redfish.AllowableValues': [],
      };
    add(svc, {
      '@odata.type': '#DelliDRACCardService.v1_6_0.DelliDRACCardService',
      Id: 'DelliDRACCardService',
      Name: 'DelliDRACCardService',
      Actions: actions,
    });
  }
  if (p.family === 'xcc') {
    const rc = `${mgr}/Oem/Lenovo/RemoteControl`;
    const actions: Record<string, unknown> = {};
    if (ctx.has('kvm-action'))
      actions['#LenovoRemoteControlService.GetRemoteConsoleToken'] = {
        title: 'GetRemoteConsoleToken',
        target: `${rc}/Actions/LenovoRemoteControlService.GetRemoteConsoleToken`,
      };
    add(rc, {
      '@odata.type': '#LenovoRemoteControlService.v1_0_0.LenovoRemoteControlService',
      Id: 'RemoteControl',
      Name: 'Remote Control',
      ServiceEnabled: true,
      Actions: actions,
      Sessions: link(`${rc}/Sessions`),
    });
  }
  if (p.family === 'ilo' && p.generation !== '4') {
    add(`${mgr}/RcInfo`, {
      Enabled: true,
      MasterKey: hexToken(16),
      ProtocolVersion: '1.0',
      RcPort: 17990,
      VmPort: 17988,
    });
  }
  return m;
}

function serviceRoot(ctx: Ctx): Record<string, unknown> {
  const p = ctx.profile;
  return {
    '@odata.id': `${V1}/`,
    '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
    ...p.root,
    Systems: link(`${V1}/Systems`),
    Managers: link(`${V1}/Managers`),
    Chassis: link(`${V1}/Chassis`),
    SessionService: link(`${V1}/SessionService`),
    Links: { Sessions: link(SESSIONS) },
  };
}

/** Redfish service: standard resources plus the vendor console actions. */
export async function handleRedfish(
  ctx: Ctx,
  ui: WebUi,
  req: Req,
  res: Res,
  fixture?: Map<string, unknown>,
): Promise<boolean> {
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
    redfishError(res, 401, 'NoValidSession', `Authentication required: ${auth.why}.`, {
      'www-authenticate': 'Basic realm="Redfish"',
    });
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
    if (s?.kind !== 'redfish') {
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
  if (!fixture && systemRoute(ctx, req, res)) return true;
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
  if (p.family === 'idrac' && !legacyIdrac(p)) {
    const paths = [
      `${mgr}/oem/dell/dellidraccardservice/actions/dellidraccardservice.getkvmsession`,
      `${V1}/dell/managers/${p.managerId}/dellidraccardservice/actions/dellidraccardservice.getkvmsession`.toLowerCase(),
    ];
    if (paths.includes(lower)) {
      if (req.method !== 'POST') return (redfishError(res, 405, 'ActionNotSupported', 'Use POST.'), true);
      if (!ctx.has('kvm-action'))
        return (
          redfishError(res, 400, 'ActionNotSupported', 'The action GetKVMSession is not supported by the resource.'),
          true
        );
      const body = jsonBody(req) as Record<string, unknown> | undefined;
      if (!body || typeof body.SessionTypeName !== 'string')
        return (
          redfishError(
            res,
            400,
            'ActionParameterMissing',
            'The action GetKVMSession requires the parameter SessionTypeName.',
          ),
          true
        );
      const t = ctx.state.issueTicket(digits(24), digits(24), 'kvm-action');
      sendJson(res, 200, { TempUsername: t.key, TempPassword: t.secret });
      return true;
    }
  }
  if (
    p.family === 'xcc' &&
    lower === `${mgr}/oem/lenovo/remotecontrol/actions/lenovoremotecontrolservice.getremoteconsoletoken`
  ) {
    if (req.method !== 'POST') return (redfishError(res, 405, 'ActionNotSupported', 'Use POST.'), true);
    if (!ctx.has('kvm-action'))
      return (
        redfishError(res, 404, 'ResourceMissingAtURI', 'The action GetRemoteConsoleToken is not available.'), true
      );
    const t = ctx.state.issueTicket(hexToken(20), 'xcc', 'kvm-action');
    sendJson(res, 200, { Token: t.key });
    return true;
  }
  // Only firmware whose Manager links Oem/Supermicro/IKVM has it (the X12 capture's Manager has no Oem).
  const hasIkvm = Boolean(
    ((p.manager.Oem as Record<string, unknown> | undefined)?.Supermicro as Record<string, unknown> | undefined)?.IKVM,
  );
  if (p.family === 'smc-bmc' && hasIkvm && lower === `${mgr}/oem/supermicro/ikvm`) {
    if (req.method === 'PATCH') {
      const body = jsonBody(req) as Record<string, unknown> | undefined;
      const v = body?.['Current interface'] ?? body?.['Current Interface'];
      if (v !== 'HTML 5' && v !== 'JAVA plug-in')
        return (
          redfishError(res, 400, 'PropertyValueNotInList', '"Current interface" must be "HTML 5" or "JAVA plug-in".'),
          true
        );
      if (v === 'HTML 5' && !ctx.has('kvm-action')) patchedIkvm.add(ctx.state);
      if (v === 'HTML 5') ctx.features.add('kvm-action');
      else ctx.features.delete('kvm-action');
      res.writeHead(204).end();
      return true;
    }
    if (req.method !== 'GET') return false;
    const body: Record<string, unknown> = {
      '@odata.type': '#IKVM.v1_0_2.IKVM',
      '@odata.id': `${V1}/Managers/${p.managerId}/Oem/Supermicro/IKVM`,
      Id: 'IKVM',
      Name: 'IKVM',
      'Current interface': ctx.has('kvm-action') ? 'HTML 5' : 'JAVA plug-in',
    };
    if (ctx.has('kvm-action')) {
      const t = ctx.state.issueTicket(
        hexToken(16),
        hexToken(12),
        patchedIkvm.has(ctx.state) ? 'ikvm-patch' : 'kvm-action',
      );
      body.URI = `/redfish/${t.key}.IKVM`;
    }
    void auth;
    sendJson(res, 200, body);
    return true;
  }
  return false;
}

/** A success answer as the vendor's firmware sends it: 204, or 200 with the vendor's body. */
type Answer = { status: 204 } | { status: 200; body: Record<string, unknown> };

/**
 * How one profile's ComputerSystem answers Reset and PATCH. Lists are the captures' (shared/fixtures/redfish) where
 * one exists; docs/bmc-emulator.md marks the rest as emulator choices.
 */
interface SystemModel {
  /** `ResetType@Redfish.AllowableValues` as the firmware lists it; undefined when the action lists none inline. */
  resetListed?: string[];
  /** The ResetTypes the firmware carries out (can differ from the listed ones, see Supermicro X12). */
  resetAccepted: string[];
  /** The action links `@Redfish.ActionInfo` (`<system>/ResetActionInfo`). */
  actionInfo: boolean;
  targets: string[];
  enabled: string[];
  enabledListed: boolean;
  /** Null: the Boot object has no BootSourceOverrideMode. */
  modes: string[] | null;
  modesListed: boolean;
  initialMode: string;
  etagStyle: 'ilo' | 'ami' | 'xcc' | 'supermicro' | 'plain';
  /** The system's body carries `@odata.etag` (iLO, XCC, Supermicro, AMI captures) besides the ETag header. */
  etagInBody: boolean;
  resetAnswer: Answer;
  patchAnswer: Answer;
}

const ENABLED = ['Disabled', 'Once', 'Continuous'];
const MODES = ['Legacy', 'UEFI'];
const DMTF_SUCCESS: Answer = {
  status: 200,
  body: {
    '@Message.ExtendedInfo': [
      {
        '@odata.type': '#Message.v1_1_1.Message',
        MessageId: 'Base.1.8.Success',
        Message: 'Successfully Completed Request',
        MessageArgs: [],
        Severity: 'OK',
        Resolution: 'None',
      },
    ],
  },
};

function systemModel(p: Profile): SystemModel {
  const base = {
    actionInfo: false,
    enabled: ENABLED,
    enabledListed: false,
    modes: MODES,
    modesListed: false,
    initialMode: 'UEFI',
    etagStyle: 'plain' as const,
    etagInBody: false,
    resetAnswer: { status: 204 } as Answer,
    patchAnswer: { status: 204 } as Answer,
  };
  switch (p.family) {
    case 'idrac': {
      const legacy = legacyIdrac(p);
      const reset = legacy
        ? ['On', 'ForceOff', 'ForceRestart', 'GracefulShutdown', 'PushPowerButton', 'Nmi']
        : [
            'On',
            'ForceOff',
            'ForceRestart',
            'GracefulRestart',
            'GracefulShutdown',
            'PushPowerButton',
            'Nmi',
            'PowerCycle',
          ];
      return {
        ...base,
        resetListed: reset,
        resetAccepted: reset,
        targets: ['None', 'Pxe', 'Floppy', 'Cd', 'Hdd', 'BiosSetup', 'Utilities', 'UefiTarget', 'SDCard', 'UefiHttp'],
        patchAnswer: DMTF_SUCCESS,
      };
    }
    case 'ilo': {
      const reset = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'Nmi', 'PushPowerButton', 'GracefulRestart'];
      const ok: Answer = {
        status: 200,
        body: {
          error: {
            code: 'iLO.0.10.ExtendedInfo',
            message: 'See @Message.ExtendedInfo for more information.',
            '@Message.ExtendedInfo': [{ MessageId: p.generation === '4' ? 'Base.0.10.Success' : 'Base.1.4.Success' }],
          },
        },
      };
      return {
        ...base,
        resetListed: reset,
        resetAccepted: reset,
        targets: [
          'None',
          'Cd',
          'Hdd',
          'Usb',
          'SDCard',
          'Utilities',
          'Diags',
          'BiosSetup',
          'Pxe',
          'UefiShell',
          'UefiHttp',
          'UefiTarget',
        ],
        etagStyle: 'ilo',
        etagInBody: true,
        resetAnswer: ok,
        patchAnswer: ok,
      };
    }
    case 'xcc': {
      const reset = ['On', 'Nmi', 'GracefulShutdown', 'GracefulRestart', 'ForceOn', 'ForceOff', 'ForceRestart'];
      // XCC lists no "Continuous": a persistent boot override is refused.
      return {
        ...base,
        resetListed: reset,
        resetAccepted: reset,
        actionInfo: true,
        targets: ['None', 'Pxe', 'Cd', 'Usb', 'Hdd', 'BiosSetup', 'Diags', 'UefiTarget'],
        enabled: ['Once', 'Disabled'],
        enabledListed: true,
        etagStyle: 'xcc',
        etagInBody: true,
        patchAnswer: DMTF_SUCCESS,
      };
    }
    case 'smc-bmc': {
      const accepted = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn'];
      const ok: Answer = {
        status: 200,
        body: { Success: { code: 'Base.v1_4_0.Success', Message: 'Successfully Completed Request.' } },
      };
      // X11/X12 firmware runs two values together in its list (as the X12 captures); X13/H13 list them only in ActionInfo.
      const classic = p.generation === 'x11' || p.generation === 'x12';
      const listed = classic
        ? ['On', 'ForceOff', 'GracefulShutdownGracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn']
        : undefined;
      return {
        ...base,
        ...(listed ? { resetListed: listed } : {}),
        resetAccepted: accepted,
        actionInfo: true,
        targets: ['None', 'Pxe', 'Floppy', 'Cd', 'Usb', 'Hdd', 'BiosSetup', 'UsbCd', 'UefiBootNext', 'UefiHttp'],
        etagStyle: 'supermicro',
        etagInBody: true,
        resetAnswer: ok,
        patchAnswer: ok,
      };
    }
    case 'openbmc':
      return {
        ...base,
        resetAccepted: [
          'On',
          'ForceOff',
          'ForceOn',
          'ForceRestart',
          'GracefulRestart',
          'GracefulShutdown',
          'PowerCycle',
          'Nmi',
        ],
        actionInfo: true,
        targets: ['None', 'Pxe', 'Hdd', 'Cd', 'Diags', 'BiosSetup', 'Usb'],
        enabledListed: true,
        modesListed: true,
        resetAnswer: DMTF_SUCCESS,
      };
    case 'ami-megarac':
      return {
        ...base,
        resetAccepted: [
          'On',
          'ForceOff',
          'GracefulShutdown',
          'GracefulRestart',
          'ForceRestart',
          'Nmi',
          'ForceOn',
          'PushPowerButton',
        ],
        actionInfo: true,
        targets: [
          'None',
          'Pxe',
          'Floppy',
          'Cd',
          'Usb',
          'Hdd',
          'BiosSetup',
          'Utilities',
          'UefiShell',
          'UefiTarget',
          'SDCard',
          'UefiHttp',
          'RemoteDrive',
          'UefiBootNext',
        ],
        enabled: ['Disabled', 'Once', 'Continuous'],
        enabledListed: true,
        modesListed: true,
        initialMode: 'Legacy',
        etagStyle: 'ami',
        etagInBody: true,
      };
    default: {
      const reset = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'PushPowerButton'];
      return {
        ...base,
        resetListed: reset,
        resetAccepted: reset,
        targets: ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'],
        modes: null,
      };
    }
  }
}

function hostOf(ctx: Ctx, id: string): HostSystem {
  const model = systemModel(ctx.profile);
  return ctx.state.host(
    id,
    () =>
      new HostSystem(ctx.profile.system.PowerState === 'Off' ? 'Off' : 'On', {
        BootSourceOverrideTarget: 'None',
        BootSourceOverrideEnabled: 'Disabled',
        ...(model.modes ? { BootSourceOverrideMode: model.initialMode } : {}),
      }),
  );
}

function bootResource(model: SystemModel, boot: BootOverride): Record<string, unknown> {
  return {
    ...boot,
    'BootSourceOverrideTarget@Redfish.AllowableValues': model.targets,
    ...(model.enabledListed ? { 'BootSourceOverrideEnabled@Redfish.AllowableValues': model.enabled } : {}),
    ...(model.modes && model.modesListed ? { 'BootSourceOverrideMode@Redfish.AllowableValues': model.modes } : {}),
  };
}

/** The vendor's ETag form (weak on iLO and AMI, strong elsewhere), changing with every change of the system. */
function etagOf(model: SystemModel, id: string, host: HostSystem): string {
  host.powerState();
  const hex = createHash('sha256').update(`${host.salt}/${id}/${host.generation}`).digest('hex');
  switch (model.etagStyle) {
    case 'ilo':
      return `W/"${hex.slice(0, 8).toUpperCase()}"`;
    case 'ami':
      return `W/"${parseInt(hex.slice(0, 8), 16)}"`;
    case 'xcc':
      return `"${hex.slice(0, 22)}"`;
    case 'supermicro':
      return `"${hex.slice(0, 32)}"`;
    default:
      return `"${hex.slice(0, 16)}"`;
  }
}

/** If-Match (RFC 9110 §13.1.1) with weak comparison **(emulator choice)**, so W/"x" and "x" both match. */
function ifMatchOk(ifMatch: string | undefined, etag: string): boolean {
  if (ifMatch === undefined) return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifMatch.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

function answer(res: Res, a: Answer, headers: Record<string, string> = {}): void {
  if (a.status === 204) res.writeHead(204, headers).end();
  else sendJson(res, 200, a.body, headers);
}

/** GET/PATCH of a ComputerSystem, its Reset action and ResetActionInfo; false when the path is none of them. */
function systemRoute(ctx: Ctx, req: Req, res: Res): boolean {
  const p = ctx.profile;
  const m = /^\/redfish\/v1\/systems\/([^/]+)(\/actions\/computersystem\.reset|\/resetactioninfo)?$/i.exec(req.path);
  if (!m) return false;
  const id = [p.systemId, ...(p.extraSystemIds ?? [])].find((s) => s.toLowerCase() === (m[1] ?? '').toLowerCase());
  if (!id)
    return (redfishError(res, 404, 'ResourceMissingAtURI', `The resource at the URI ${req.path} was not found.`), true);
  const model = systemModel(p);
  const host = hostOf(ctx, id);
  const sub = (m[2] ?? '').toLowerCase();
  if (sub === '/actions/computersystem.reset') {
    if (req.method !== 'POST')
      return (
        redfishError(res, 405, 'ActionNotSupported', `${req.method} is not supported on ${req.path}; use POST.`, {
          allow: 'POST',
        }),
        true
      );
    resetAction(ctx, req, res, model, host);
    return true;
  }
  if (sub === '/resetactioninfo') return false;
  if (req.method === 'PATCH') {
    patchSystem(req, res, model, id, host);
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    redfishError(res, 405, 'ActionNotSupported', `${req.method} is not supported on ${req.path}.`, {
      allow: 'GET, PATCH',
    });
    return true;
  }
  const body = resources(ctx).get(req.path.toLowerCase());
  if (!body) return false;
  sendJson(res, 200, body, { etag: etagOf(model, id, host), allow: 'GET, PATCH' });
  return true;
}

function resetAction(ctx: Ctx, req: Req, res: Res, model: SystemModel, host: HostSystem): void {
  const body = jsonBody(req);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    redfishError(
      res,
      400,
      'MalformedJSON',
      'The request body submitted was malformed JSON and could not be parsed by the receiving service.',
    );
    return;
  }
  const type = (body as Record<string, unknown>).ResetType;
  if (type === undefined) {
    redfishError(
      res,
      400,
      'ActionParameterMissing',
      'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.',
      {},
      { args: ['ComputerSystem.Reset', 'ResetType'], related: ['#/ResetType'] },
    );
    return;
  }
  if (typeof type !== 'string' || !model.resetAccepted.includes(type)) {
    redfishError(
      res,
      400,
      'ActionParameterValueNotInList',
      `The value ${JSON.stringify(type)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`,
      {},
      { registry: 'Base.1.12', args: [String(type), 'ResetType', 'ComputerSystem.Reset'], related: ['#/ResetType'] },
    );
    return;
  }
  host.reset(type);
  ctx.log.info(`redfish: ComputerSystem.Reset ${type} -> ${host.powerState()}`);
  answer(res, model.resetAnswer);
}

const BOOT_KEYS = [
  'BootSourceOverrideTarget',
  'BootSourceOverrideEnabled',
  'BootSourceOverrideMode',
  'HttpBootUri',
] as const;

/** PATCH {"Boot": {...}}: every property is checked before any is applied, so a 400 changes nothing. */
function patchSystem(req: Req, res: Res, model: SystemModel, id: string, host: HostSystem): void {
  const etag = etagOf(model, id, host);
  if (!ifMatchOk(header(req, 'if-match'), etag)) {
    redfishError(
      res,
      412,
      'PreconditionFailed',
      'The ETag supplied did not match the ETag required to change this resource.',
      { etag },
      { related: [] },
    );
    return;
  }
  const body = jsonBody(req);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    redfishError(
      res,
      400,
      'MalformedJSON',
      'The request body submitted was malformed JSON and could not be parsed by the receiving service.',
    );
    return;
  }
  const bad = (code: string, message: string, prop: string, args: string[]) =>
    redfishError(res, 400, code, message, {}, { args, related: [`#/${prop}`] });
  const patch: Partial<BootOverride> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key !== 'Boot') {
      // Everything else on the system is the hardware's, as far as the emulator goes.
      return bad(
        'PropertyNotWritable',
        `The property ${key} is a read only property and cannot be assigned a value.`,
        key,
        [key],
      );
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      return bad(
        'PropertyValueTypeError',
        `The value ${JSON.stringify(value)} for the property Boot is of a different type than the property can accept.`,
        'Boot',
        [JSON.stringify(value), 'Boot'],
      );
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const prop = `Boot/${k}`;
      const allowed =
        k === 'BootSourceOverrideTarget'
          ? model.targets
          : k === 'BootSourceOverrideEnabled'
            ? model.enabled
            : k === 'BootSourceOverrideMode'
              ? model.modes
              : undefined;
      if (
        !(BOOT_KEYS as readonly string[]).includes(k) ||
        (k === 'BootSourceOverrideMode' && !model.modes) ||
        (k === 'HttpBootUri' && !model.targets.includes('UefiHttp'))
      ) {
        return bad(
          'PropertyUnknown',
          `The property ${prop} is not in the list of valid properties for the resource.`,
          prop,
          [prop],
        );
      }
      if (k === 'HttpBootUri') {
        if (v !== null && typeof v !== 'string')
          return bad(
            'PropertyValueTypeError',
            `The value ${JSON.stringify(v)} for the property ${prop} is of a different type than the property can accept.`,
            prop,
            [JSON.stringify(v), prop],
          );
        patch.HttpBootUri = v;
        continue;
      }
      if (typeof v !== 'string')
        return bad(
          'PropertyValueTypeError',
          `The value ${JSON.stringify(v)} for the property ${prop} is of a different type than the property can accept.`,
          prop,
          [JSON.stringify(v), prop],
        );
      if (!allowed?.includes(v))
        return bad(
          'PropertyValueNotInList',
          `The value ${v} for the property ${prop} is not in the list of acceptable values.`,
          prop,
          [v, prop],
        );
      patch[k as 'BootSourceOverrideTarget' | 'BootSourceOverrideEnabled' | 'BootSourceOverrideMode'] = v;
    }
  }
  host.setBoot(patch);
  answer(res, model.patchAnswer, { etag: etagOf(model, id, host) });
}
