/**
 * `bmc-console assign`: gives a console started with AWAIT_APP_INFO=1 its node. Reads one JSON object on stdin,
 * `{"appInfo": {...APP_INFO...}, "vncPassword": "...", "caBundle": "<PEM>"}` (caBundle only when verify_ca names a
 * CA bundle), so that no secret is in argv (the host agent runs it with
 * `podman exec -i`). Exit 0 when the console took it, 2 when it refused it (the reason on stderr), 1 otherwise.
 */
import { CONSOLE_DEFAULTS } from '@bmc-console/common/console-env';
import { checkAssignment } from '@bmc-console/common/contracts/assignment';
import { sendAssignment } from '../supervisor/assignment.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: bmc-console assign < {"appInfo": {...}, "vncPassword": "...", "caBundle": "<PEM>"}\n  gives a console started with AWAIT_APP_INFO=1 its node (caBundle: the CA bundle verify_ca names, optional)\n',
    );
    return 0;
  }
  if (argv.length) {
    process.stderr.write(
      `bmc-console assign: unexpected argument ${JSON.stringify(argv[0])} (the assignment comes on stdin)\n`,
    );
    return 2;
  }
  const text = await readStdin();
  // A resident agent opens this ahead and, when it stops, closes stdin without an assignment.
  if (!text.trim()) {
    process.stderr.write('bmc-console assign: stdin is empty: nothing assigned\n');
    return 2;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    process.stderr.write(
      'bmc-console assign: stdin is not valid JSON (expected {"appInfo": {...}, "vncPassword": "..."})\n',
    );
    return 2;
  }
  const assignment = checkAssignment(json, 'stdin');
  if (typeof assignment === 'string') {
    process.stderr.write(`bmc-console assign: ${assignment}\n`);
    return 2;
  }
  const reply = await sendAssignment(process.env.ASSIGN_SOCKET?.trim() || CONSOLE_DEFAULTS.assignSocket, assignment);
  if ('error' in reply) {
    process.stderr.write(`bmc-console assign: the console refused the node: ${reply.error}\n`);
    return 2;
  }
  process.stdout.write('{"assigned":true}\n');
  return 0;
}
