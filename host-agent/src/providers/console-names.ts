/** Names and labels shared by the providers, so stop-all and reconcile find exactly this agent's consoles. */
export const LABEL_CONSOLE = 'io.bmc-console.console';
export const LABEL_NODE = 'io.bmc-console.node';
export const LABEL_AGENT = 'io.bmc-console.agent';

/** Node ids become container, unit and file names: letters, digits, `.`, `_`, `-` (Ironic uses UUIDs). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkNodeId(node: string): void {
  if (!NODE_ID_PATTERN.test(node)) throw new Error(`node ${JSON.stringify(node)}: expected a node UUID or name (letters, digits, . _ -, at most 63 characters)`);
}

export function consoleName(node: string): string {
  return `bmc-console-${node}`;
}

export function consoleLabels(node: string, agentHost: string): Record<string, string> {
  return { [LABEL_CONSOLE]: 'true', [LABEL_NODE]: node, [LABEL_AGENT]: agentHost };
}
