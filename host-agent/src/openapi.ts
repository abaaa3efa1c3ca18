/** The agent API's OpenAPI description, served at /openapi.json; docs/agent-api.json is a copy (a test keeps them equal). */
const error = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['kind', 'message'],
      properties: {
        kind: { type: 'string', enum: ['invalid', 'unauthorized', 'not-found', 'provider', 'internal'] },
        node: { type: 'string' },
        message: { type: 'string', description: 'Names the node and the cause; never contains a secret.' },
      },
    },
  },
} as const;

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
  Object.fromEntries([...codes, 401, 415, 421].map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));

const node = { name: 'node', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' } } as const;
const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });

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
      get: { operationId: 'listConsoles', summary: 'Status of every console this agent knows', responses: { '200': { description: 'consoles', ...json('ConsoleList') }, ...errors() } },
      post: {
        operationId: 'startConsole',
        summary: 'Start (or restart) the console of a node; returns once the VNC server answers, with a first console URL',
        requestBody: { required: true, ...json('StartRequest') },
        responses: { '201': { description: 'started', ...json('StartResult') }, ...errors(400, 502, 500) },
      },
      delete: { operationId: 'stopAllConsoles', summary: "Stop every console of this agent", responses: { '200': { description: 'stopped', ...json('StopAllResult') }, ...errors(502, 500) } },
    },
    '/v1/consoles/{node}': {
      parameters: [node],
      get: { operationId: 'getConsole', summary: 'Status of one console', responses: { '200': { description: 'status', ...json('ConsoleStatus') }, ...errors(400, 404) } },
      delete: { operationId: 'stopConsole', summary: 'Stop a console and revoke its tokens (idempotent)', responses: { '200': { description: 'stopped', ...json('StopResult') }, ...errors(400, 502, 500) } },
    },
    '/v1/consoles/{node}/urls': {
      parameters: [node],
      post: { operationId: 'issueUrl', summary: 'Issue a fresh token and return the console URL for the proxy', responses: { '201': { description: 'URL', ...json('UrlResult') }, ...errors(400, 404) } },
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
      post: { operationId: 'reconcile', summary: 'Clean up dead consoles and stop unknown ones now', responses: { '200': { description: 'done', ...json('ReconcileResult') }, ...errors(502, 500) } },
    },
    '/healthz': { get: { operationId: 'health', summary: 'Liveness (authenticated like everything else on TCP)', responses: { '200': { description: 'ok' }, ...errors() } } },
    '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' }, ...errors() } } },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description: 'TCP listener only: the content of api_key_file (32 random bytes, base64url; created 0600 by the agent on its first TCP start). On the unix socket no credential is sent.',
      },
    },
    schemas: {
      Error: error,
      StartRequest: {
        type: 'object',
        required: ['node', 'appInfo'],
        properties: {
          node: { type: 'string' },
          app: { type: 'string', enum: ['redfish-graphical', 'fake'], default: 'redfish-graphical' },
          appInfo: { type: 'object', description: "Ironic's APP_INFO: address, username, password, root_prefix, verify_ca (bool, or the path of a CA bundle file under the agent's ca_bundle_dir), ...", additionalProperties: true },
          readOnly: { type: 'boolean', description: 'Defaults to the read_only option.' },
          vncPassword: {
            type: 'boolean',
            description: "Protect the console's VNC server with a password the proxy answers (default: the vnc_password option). false: no password, for a viewer that speaks only security type None (e.g. Ironic's own noVNC proxy); the console still publishes on container_publish_address.",
          },
        },
      },
      StartResult: {
        type: 'object',
        required: ['node', 'host', 'port', 'url', 'expiresAt'],
        properties: { node: { type: 'string' }, host: { type: 'string' }, port: { type: 'integer' }, url: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
      },
      StopResult: { type: 'object', required: ['node', 'wasRunning'], properties: { node: { type: 'string' }, wasRunning: { type: 'boolean' } } },
      StopAllResult: { type: 'object', required: ['stopped'], properties: { stopped: { type: 'array', items: { type: 'string' } } } },
      UrlResult: { type: 'object', required: ['node', 'url', 'expiresAt'], properties: { node: { type: 'string' }, url: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } },
      ConsoleStatus: {
        type: 'object',
        required: ['node', 'provider', 'app', 'status', 'host', 'port', 'readOnly', 'startedAt', 'validTokens'],
        properties: {
          node: { type: 'string' },
          provider: { type: 'string' },
          app: { type: 'string' },
          status: { type: 'string', enum: ['running', 'died'] },
          host: { type: 'string' },
          port: { type: 'integer' },
          readOnly: { type: 'boolean' },
          startedAt: { type: 'string', format: 'date-time' },
          diedAt: { type: 'string', format: 'date-time' },
          validTokens: { type: 'integer' },
        },
      },
      ConsoleList: { type: 'object', required: ['consoles'], properties: { consoles: { type: 'array', items: { $ref: '#/components/schemas/ConsoleStatus' } } } },
      VerifyRequest: { type: 'object', required: ['node', 'token'], properties: { node: { type: 'string' }, token: { type: 'string' } } },
      VerifyOk: {
        type: 'object',
        required: ['node', 'host', 'port', 'readOnly', 'expiresAt'],
        properties: {
          node: { type: 'string' },
          host: { type: 'string' },
          port: { type: 'integer' },
          vncPassword: { type: 'string', description: "The console's VNC password, for the proxy's VNC authentication to x11vnc." },
          readOnly: { type: 'boolean' },
          expiresAt: { type: 'string', format: 'date-time' },
        },
      },
      ConsoleTarget: {
        type: 'object',
        required: ['node', 'host', 'port', 'readOnly'],
        properties: {
          node: { type: 'string' },
          host: { type: 'string' },
          port: { type: 'integer' },
          vncPassword: { type: 'string', description: "The console's VNC password (absent for a console started without one)." },
          readOnly: { type: 'boolean' },
        },
      },
      VerifyRefused: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', enum: ['unknown', 'expired', 'revoked', 'wrong-node'] } } },
      ReconcileResult: { type: 'object', required: ['died', 'stoppedUnknown'], properties: { died: { type: 'array', items: { type: 'string' } }, stoppedUnknown: { type: 'array', items: { type: 'string' } } } },
    },
  },
} as const;
