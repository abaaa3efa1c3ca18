/** Names and labels shared by the providers, so stop-all and reconcile find exactly this agent's consoles. */
export const LABEL_CONSOLE = 'io.bmc-console.console';
export const LABEL_NODE = 'io.bmc-console.node';
export const LABEL_AGENT = 'io.bmc-console.agent';
/** Kubernetes label keys need a DNS prefix of their own; the console's Pod and Secret carry these. */
export const K8S_NODE_LABEL = 'bmc-console.io/node';
export const K8S_AGENT_LABEL = 'bmc-console.io/agent';

/** Node ids are checked against common's rule (contracts/node-id), which this name's limits set. */
export function consoleName(node: string): string {
  return `bmc-console-${node}`;
}

export function consoleLabels(node: string, agentHost: string): Record<string, string> {
  return { [LABEL_CONSOLE]: 'true', [LABEL_NODE]: node, [LABEL_AGENT]: agentHost };
}
