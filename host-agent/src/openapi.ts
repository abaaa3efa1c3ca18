/**
 * The agent API's OpenAPI description, served at /openapi.json: its schemas are generated from the zod contracts
 * both sides parse with (common/src/contracts), so the document cannot drift from the code. docs/agent-api.json is
 * the `bmc-console-agent openapi` output (a test keeps them equal).
 */
import { AGENT_API_SCHEMAS } from '@bmc-console/common/contracts/agent-api';
import { nodeIdSchema } from '@bmc-console/common/contracts/node-id';
import { z } from 'zod';

const COMPONENTS = '#/components/schemas/';

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of each contract, named as in components.schemas. */
function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(AGENT_API_SCHEMAS)) registry.add(schema, { id });
  // Input shapes: what a parser of each body accepts (unknown keys are ignored, not refused).
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `${COMPONENTS}${id}`, io: 'input' });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]));
}

const nodeParameterSchema = (() => {
  const { $schema: _s, ...rest } = z.toJSONSchema(nodeIdSchema, { io: 'input' });
  return rest;
})();

const node = { name: 'node', in: 'path', required: true, schema: nodeParameterSchema } as const;
const json = (ref: keyof typeof AGENT_API_SCHEMAS) => ({
  content: { 'application/json': { schema: { $ref: `${COMPONENTS}${ref}` } } },
});

const ERROR_TEXT: Record<number, string> = {
  400: 'bad input',
  401: 'TCP listener: missing or wrong API key',
  404: 'no console for this node',
  415: 'the request body is not application/json',
  421: 'Host header not allowed (DNS rebinding guard; api_allowed_hosts)',
  502: 'the provider failed',
  500: 'internal error',
};

/** Every operation can also answer 401 (TCP), 415 (a body that is not JSON) and 421 (a foreign Host). */
const errors = (...codes: number[]) =>
  Object.fromEntries(
    [...codes, 401, 415, 421].map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'error', ...json('Error') }]),
  );

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'bmc-console-agent API',
    version: '1.0.0',
    description:
      'Local API of the bmc-console host agent, for the conductor and the proxy. It hands out console targets and VNC passwords. By default it listens on a unix socket (mode 0660 in a 0750 directory: the file permissions are the credential, no key is sent). With api_listen "tcp://host:port" (optionally HTTPS) every request needs "Authorization: Bearer <key>", the key being the content of api_key_file. On both listeners request bodies must be application/json and the Host header must be a loopback name or address, the listen address or one of api_allowed_hosts.',
  },
  security: [{ apiKey: [] }],
  paths: {
    '/v1/consoles': {
      get: {
        operationId: 'listConsoles',
        summary: 'Status of every console this agent knows',
        responses: { '200': { description: 'consoles', ...json('ConsoleList') }, ...errors() },
      },
      post: {
        operationId: 'startConsole',
        summary:
          'Start (or restart) the console of a node; returns once the VNC server answers, with a first console URL',
        requestBody: { required: true, ...json('StartRequest') },
        responses: { '201': { description: 'started', ...json('StartResult') }, ...errors(400, 502, 500) },
      },
      delete: {
        operationId: 'stopAllConsoles',
        summary: 'Stop every console of this agent',
        responses: { '200': { description: 'stopped', ...json('StopAllResult') }, ...errors(502, 500) },
      },
    },
    '/v1/consoles/{node}': {
      parameters: [node],
      get: {
        operationId: 'getConsole',
        summary: 'Status of one console',
        responses: { '200': { description: 'status', ...json('ConsoleStatus') }, ...errors(400, 404) },
      },
      delete: {
        operationId: 'stopConsole',
        summary: 'Stop a console and revoke its tokens (idempotent)',
        responses: { '200': { description: 'stopped', ...json('StopResult') }, ...errors(400, 502, 500) },
      },
    },
    '/v1/consoles/{node}/urls': {
      parameters: [node],
      post: {
        operationId: 'issueUrl',
        summary:
          'Issue a fresh token and return the console URL for the proxy: for one viewer, with a role (control or view), a name and exclusive control as the optional body asks; no body gives a control link without a name',
        requestBody: { required: false, ...json('UrlRequest') },
        responses: { '201': { description: 'URL', ...json('UrlResult') }, ...errors(400, 404) },
      },
    },
    '/v1/consoles/{node}/target': {
      parameters: [node],
      post: {
        operationId: 'getConsoleTarget',
        summary:
          "Where a running console of this agent answers, with its VNC password: for a proxy that checked the viewer's token elsewhere (Ironic's own console tokens). 404 for a console this agent did not start or that died.",
        responses: { '200': { description: 'the console target', ...json('ConsoleTarget') }, ...errors(400, 404) },
      },
    },
    '/v1/tokens/verify': {
      post: {
        operationId: 'verifyToken',
        summary: "The proxy's check of a viewer's token",
        requestBody: { required: true, ...json('VerifyRequest') },
        responses: {
          '200': { description: 'valid: where to connect and how', ...json('VerifyOk') },
          '403': { description: 'refused', ...json('VerifyRefused') },
          ...errors(400),
        },
      },
    },
    '/v1/reconcile': {
      post: {
        operationId: 'reconcile',
        summary: 'Clean up dead consoles and stop unknown ones now',
        responses: { '200': { description: 'done', ...json('ReconcileResult') }, ...errors(502, 500) },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness (authenticated like everything else on TCP)',
        responses: { '200': { description: 'ok' }, ...errors() },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        responses: {
          '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...errors(),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1' }, ...errors() },
      },
    },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description:
          'TCP listener only: the content of api_key_file (32 random bytes, base64url; created 0600 by the agent on its first TCP start). On the unix socket no credential is sent.',
      },
    },
    schemas: componentSchemas(),
  },
} as const;
