import { describe, expect, it } from 'vitest';
import {
  AGENT_API_SCHEMAS,
  consoleTargetSchema,
  describeIssues,
  errorBodySchema,
  startRequestSchema,
  urlRequestSchema,
  verifyOkSchema,
  verifyRefusedSchema,
  verifyRequestSchema,
} from '@bmc-console/common/contracts/agent-api';
import { checkAssignment } from '@bmc-console/common/contracts/assignment';
import {
  checkNodeId,
  isNodeId,
  NODE_ID_MAX_LENGTH,
  NODE_ID_PATTERN,
  nodeIdSchema,
} from '@bmc-console/common/contracts/node-id';
import { isSecretVariable, SECRET_ENV_NAMES, SECRET_VARIABLES } from '@bmc-console/common/contracts/secret-names';
import { SECRET_FILE_VARIABLES } from '@bmc-console/common/console-env';
import { SECRET_KEYS } from '@bmc-console/common/log';
import { openApiDocument } from '@bmc-console/host-agent/openapi';

const UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('node id', () => {
  it('takes Ironic UUIDs and names up to the container-name limit', () => {
    for (const ok of [
      UUID,
      UUID.toUpperCase(),
      'a',
      '0',
      'node-1',
      'rack2.u14',
      'my_node',
      'a..b',
      'x-',
      'a'.repeat(NODE_ID_MAX_LENGTH),
    ])
      expect(isNodeId(ok), ok).toBe(true);
  });

  it('refuses what would not make a container, unit or file name', () => {
    const bad = [
      '',
      '-a',
      '.a',
      '_a',
      '..',
      'a'.repeat(NODE_ID_MAX_LENGTH + 1),
      'a:b',
      'a~b',
      'a/b',
      '../x',
      'a b',
      'a\nb',
      'nöde',
      'a%2Fb',
      ' a',
    ];
    for (const id of bad) expect(isNodeId(id), JSON.stringify(id)).toBe(false);
    expect(isNodeId(undefined)).toBe(false);
    expect(isNodeId(42)).toBe(false);
  });

  it('says the rule and quotes the id in its errors', () => {
    expect(() => checkNodeId('a:b')).toThrow(/^node "a:b": expected a node UUID or name \(.*at most 63 characters\)$/);
    expect(() => checkNodeId(UUID)).not.toThrow();
    const r = nodeIdSchema.safeParse('-x');
    expect(r.success).toBe(false);
    if (!r.success) expect(describeIssues(r.error, 'node')).toMatch(/^node: expected a node UUID or name/);
  });

  it('is the pattern the agent API documents', () => {
    const param = openApiDocument.paths['/v1/consoles/{node}'].parameters[0];
    expect(param.schema.pattern).toBe(NODE_ID_PATTERN.source);
    expect(NODE_ID_PATTERN.flags).toBe('');
  });
});

describe('agent API bodies', () => {
  it('verify: request, accepted and refused replies', () => {
    expect(verifyRequestSchema.safeParse({ node: UUID, token: 't' }).success).toBe(true);
    expect(verifyRequestSchema.safeParse({ node: UUID }).success).toBe(false);
    expect(verifyRequestSchema.safeParse({ node: 'a:b', token: 't' }).success).toBe(false);
    const ok = {
      node: UUID,
      host: '192.0.2.1',
      port: 5900,
      vncPassword: 'pw',
      readOnly: false,
      expiresAt: new Date(0).toISOString(),
      role: 'view',
      user: 'alice',
      exclusive: false,
      record: true,
    };
    expect(verifyOkSchema.parse(ok)).toEqual(ok);
    // An older agent's answer, without claims: a control link with no name, not recorded.
    const { role: _r, user: _u, exclusive: _e, record: _rec, ...older } = ok;
    expect(verifyOkSchema.parse(older)).toEqual({ ...older, role: 'control', exclusive: false, record: false });
    const { vncPassword: _pw, ...withoutPassword } = ok;
    expect(verifyOkSchema.safeParse(withoutPassword).success).toBe(true);
    for (const wrong of [
      { port: 0 },
      { port: 65536 },
      { port: 59.5 },
      { host: '' },
      { vncPassword: '' },
      { expiresAt: 'soon' },
      { readOnly: 'no' },
      { role: 'admin' },
      { exclusive: 'yes' },
      { record: 1 },
    ])
      expect(verifyOkSchema.safeParse({ ...ok, ...wrong }).success, JSON.stringify(wrong)).toBe(false);
    for (const reason of ['unknown', 'expired', 'revoked', 'wrong-node'])
      expect(verifyRefusedSchema.safeParse({ reason }).success).toBe(true);
    expect(verifyRefusedSchema.safeParse({ reason: 'nope' }).success).toBe(false);
  });

  it('console target: the password is optional, the address is not; record defaults to false', () => {
    expect(consoleTargetSchema.parse({ node: 'n1', host: 'h', port: 1, readOnly: true })).toMatchObject({
      record: false,
    });
    expect(consoleTargetSchema.parse({ node: 'n1', host: 'h', port: 1, readOnly: true, record: true }).record).toBe(
      true,
    );
    expect(consoleTargetSchema.safeParse({ node: 'n1', port: 1, readOnly: true }).success).toBe(false);
  });

  it('start: node by the one rule, APP_INFO an object, app one of the apps', () => {
    expect(startRequestSchema.safeParse({ node: UUID, appInfo: {} }).success).toBe(true);
    expect(
      startRequestSchema.safeParse({
        node: UUID,
        app: 'fake',
        appInfo: { address: 'x' },
        readOnly: true,
        vncPassword: false,
      }).success,
    ).toBe(true);
    const noNode = startRequestSchema.safeParse({ appInfo: {} });
    expect(noNode.success).toBe(false);
    if (!noNode.success) expect(describeIssues(noNode.error)).toMatch(/^node: /);
    const list = startRequestSchema.safeParse({ node: 'n', appInfo: [] });
    expect(list.success).toBe(false);
    if (!list.success) expect(describeIssues(list.error)).toBe('appInfo: expected APP_INFO as a JSON object');
    expect(startRequestSchema.safeParse({ node: 'n', app: 'vnc', appInfo: {} }).success).toBe(false);
    expect(startRequestSchema.safeParse({ node: 'n', appInfo: {}, vncPassword: 'yes' }).success).toBe(false);
  });

  it('url request: optional body; a user name by the one rule; view-only links cannot ask for exclusive control', () => {
    expect(urlRequestSchema.parse({})).toEqual({});
    expect(urlRequestSchema.parse({ viewOnly: true, user: 'Ann-Marie O.' })).toEqual({
      viewOnly: true,
      user: 'Ann-Marie O.',
    });
    expect(urlRequestSchema.safeParse({ user: 'José' }).success).toBe(true);
    for (const user of ['', ' x', '-x', 'a/b', 'a\nb', 'x'.repeat(65), '<script>'])
      expect(urlRequestSchema.safeParse({ user }).success, JSON.stringify(user)).toBe(false);
    const both = urlRequestSchema.safeParse({ viewOnly: true, exclusive: true });
    expect(both.success).toBe(false);
    if (!both.success)
      expect(describeIssues(both.error)).toBe('exclusive: a view-only link cannot ask for exclusive control');
  });

  it('error body: kind, message and an optional node', () => {
    expect(
      errorBodySchema.safeParse({ error: { kind: 'not-found', node: 'n', message: 'node n: no console' } }).success,
    ).toBe(true);
    expect(errorBodySchema.safeParse({ error: { kind: 'unauthorized', message: 'key' } }).success).toBe(true);
    expect(errorBodySchema.safeParse({ error: { kind: 'oops', message: 'x' } }).success).toBe(false);
  });

  it('every schema is a component of the generated OpenAPI document, with $refs that resolve', () => {
    const components = openApiDocument.components.schemas as Record<string, unknown>;
    expect(Object.keys(components).sort()).toEqual(Object.keys(AGENT_API_SCHEMAS).sort());
    const refs = JSON.stringify(openApiDocument).match(/"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
    for (const ref of new Set(refs))
      expect(components[ref.slice('"#/components/schemas/'.length, -1)], ref).toBeDefined();
    expect(JSON.stringify(components)).not.toMatch(/\$schema|\$id/);
  });
});

describe('pool assignment', () => {
  it('takes what the agent writes: APP_INFO, an 8-character password, a PEM bundle', () => {
    const a = { appInfo: { address: 'https://10.0.0.5', password: 'calvin' }, vncPassword: 'Ab3$efgh', caBundle: PEM };
    expect(checkAssignment(JSON.parse(JSON.stringify(a)) as unknown)).toEqual(a);
    expect(checkAssignment({ appInfo: {} })).toEqual({ appInfo: {} });
  });

  it('names each wrong field and never a value', () => {
    const r = checkAssignment({ appInfo: 'calvin', vncPassword: 'calvin-is-long', caBundle: 'calvin' }, 'stdin');
    expect(r).toMatch(
      /^appInfo: expected APP_INFO as a JSON object; vncPassword: expected at most 8 characters; caBundle: expected PEM/,
    );
    expect(r).not.toMatch(/calvin/);
    expect(checkAssignment(null, 'stdin')).toMatch(/^stdin: /);
  });
});

describe('secret variable names', () => {
  it('one list for the environment, its _FILE variants and log redaction', () => {
    expect(SECRET_VARIABLES).toEqual(['APP_INFO', 'VNC_PASSWORD']);
    expect([...SECRET_ENV_NAMES].sort()).toEqual(['APP_INFO', 'APP_INFO_FILE', 'VNC_PASSWORD', 'VNC_PASSWORD_FILE']);
    expect(SECRET_FILE_VARIABLES).toBe(SECRET_VARIABLES);
    for (const v of SECRET_VARIABLES) expect(SECRET_KEYS as readonly string[]).toContain(v);
    expect(isSecretVariable('VNC_PASSWORD')).toBe(true);
    expect(isSecretVariable('APP')).toBe(false);
  });
});
