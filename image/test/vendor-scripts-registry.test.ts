/** The registry and the failure mapping: pure logic, no browser. */
import { describe, expect, it } from 'vitest';
import type { Discovery } from '@bmc-console/common/discovery/types';
import { RedfishError } from '@bmc-console/common/redfish/error';
import { ConsoleFailure, type ConsoleContext } from '../src/vendor-script.js';
import { pickVendorScript, vendorScripts } from '../vendor-scripts/index.js';
import { httpFailure, toConsoleFailure } from '../src/console-failure.js';
import { chromeCss } from '../vendor-scripts/lib/fullscreen.js';
import { goto } from '../vendor-scripts/lib/web.js';

const d = (family: string): Discovery => ({ vendor: 'x', family, generation: null, managerId: null, evidence: [] });

describe('pickVendorScript', () => {
  it.each([
    ['idrac', 'idrac'],
    ['ilo', 'ilo'],
    ['xcc', 'xcc'],
    ['smc-bmc', 'smc-bmc'],
    ['openbmc', 'openbmc'],
    ['ami-megarac', 'ami-megarac'],
    ['cimc', 'generic'],
    ['intel-bmc', 'generic'],
    ['unknown', 'generic'],
  ])('family %s -> script %s', (family, script) => {
    expect(pickVendorScript(d(family)).family).toBe(script);
  });

  it('has one script per family and generic last', () => {
    const families = vendorScripts.map((s) => s.family);
    expect(new Set(families).size).toBe(families.length);
    expect(families.at(-1)).toBe('generic');
  });
});

describe('failure mapping', () => {
  it('maps RedfishError kinds', () => {
    const k = (e: unknown) => (toConsoleFailure(e, 'step') as ConsoleFailure).kind;
    expect(k(new RedfishError('auth', 'https://b/redfish/v1', 'HTTP 401', { status: 401 }))).toBe('auth');
    expect(k(new RedfishError('tls', 'https://b/redfish/v1', 'self-signed certificate'))).toBe('tls');
    expect(k(new RedfishError('unreachable', 'https://b/redfish/v1', 'connection refused'))).toBe('unreachable');
    expect(k(new RedfishError('http', 'https://b/x', 'HTTP 404', { status: 404 }))).toBe('unsupported');
    expect(k(new RedfishError('http', 'https://b/x', 'HTTP 500', { status: 500 }))).toBe('bmc-error');
  });

  it('maps browser network and certificate errors', () => {
    const k = (m: string) => (toConsoleFailure(new Error(m), 'step') as ConsoleFailure).kind;
    expect(k('page.goto: net::ERR_CONNECTION_REFUSED at https://b/')).toBe('unreachable');
    expect(k('page.goto: net::ERR_CERT_AUTHORITY_INVALID at https://b/')).toBe('tls');
    expect(k('something odd')).toBe('bmc-error');
  });

  it('keeps aborts and scrubs secrets', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toConsoleFailure(abort, 'step')).toBe(abort);
    const f = toConsoleFailure(new Error('net::ERR_CONNECTION_RESET at https://b/?pw=hunter22'), 'step', [
      'hunter22',
    ]) as ConsoleFailure;
    expect(f.cause).not.toContain('hunter22');
  });

  it('words each kind one way, naming the step', () => {
    const c = (e: unknown) => (toConsoleFailure(e, 'Redfish discovery') as ConsoleFailure).cause;
    expect(c(new RedfishError('tls', 'https://b/redfish/v1', 'self-signed certificate'))).toBe(
      "Redfish discovery: the BMC's TLS certificate was not accepted (self-signed certificate)",
    );
    expect(c(new Error('page.goto: net::ERR_CERT_AUTHORITY_INVALID'))).toBe(
      "Redfish discovery: the BMC's TLS certificate was not accepted (page.goto: net::ERR_CERT_AUTHORITY_INVALID)",
    );
    expect(c(new RedfishError('unreachable', 'https://b/redfish/v1', 'connection refused'))).toBe(
      'Redfish discovery: the BMC cannot be reached (connection refused)',
    );
    expect(c(new RedfishError('protocol', 'https://b/redfish/v1', 'not JSON'))).toBe('Redfish discovery: not JSON');
  });

  it('maps HTTP statuses', () => {
    expect(httpFailure(401, 'x').kind).toBe('auth');
    expect(httpFailure(503, 'x').kind).toBe('kvm-busy');
    expect(httpFailure(500, 'x').cause).toContain('HTTP 500');
  });
});

describe('chrome CSS', () => {
  it('sizes by the viewport, never by pixels', () => {
    const css = chromeCss({ hide: ['#bar'], fill: ['#screen'] });
    expect(css).toContain('#bar { display: none !important; }');
    expect(css).toContain('100vw');
    expect(css).not.toMatch(/\d+px/);
  });
});

describe('goto failures', () => {
  it('keep console tokens in a URL query (also inside the #fragment) out of the message', async () => {
    const url = 'https://10.0.0.5/#/login?fefa20fc446e4a6c&context=remote&mode=multi';
    const page = { goto: () => Promise.reject(new Error(`page.goto: net::ERR_CERT_AUTHORITY_INVALID at ${url}`)) };
    const ctx = {
      page,
      bmc: { origin: 'https://10.0.0.5', password: 'pw' },
      signal: new AbortController().signal,
    } as unknown as ConsoleContext;
    const err = await goto(
      ctx,
      '/#/login?fefa20fc446e4a6c&context=remote&mode=multi',
      'Opening the XCC remote console',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleFailure);
    expect((err as ConsoleFailure).kind).toBe('tls');
    expect((err as Error).message).not.toContain('fefa20fc446e4a6c');
    expect((err as Error).message).toContain('https://10.0.0.5/#/login?');
  });
});
