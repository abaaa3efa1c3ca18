/**
 * The one rule for a node id, on every side (agent API, proxy, container names): an Ironic node UUID or name.
 * Ironic names may also hold `~` and run to 255 characters, but the id becomes a container, unit, secret and file
 * name (`bmc-console-<id>`) and a Kubernetes label value, which allow neither `~` nor more than 63 characters.
 */
import { z } from 'zod';

export const NODE_ID_MAX_LENGTH = 63;

export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const RULE = `expected a node UUID or name (letters, digits, . _ -, starting with a letter or digit, at most ${NODE_ID_MAX_LENGTH} characters)`;

export const nodeIdSchema = z
  .string()
  .regex(NODE_ID_PATTERN, RULE)
  .meta({ description: 'An Ironic node UUID or name: letters, digits, . _ - (not first), at most 63 characters.' });

export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && NODE_ID_PATTERN.test(value);
}

/** Throws an Error that quotes the id (never a secret) and states the rule. */
export function checkNodeId(node: string): void {
  if (!isNodeId(node)) throw new Error(`node ${JSON.stringify(node)}: ${RULE}`);
}
