/**
 * `npm run bench` entry: runs the proxy and/or console benchmarks, merges them into bench/results.json and
 * regenerates the table in docs/benchmarks.md.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { runConsoleBench } from './console-bench.js';
import { runDirectBench } from './direct-bench.js';
import { runFramesBench } from './frames-bench.js';
import { measureImage } from './image-size.js';
import { runKeystrokeBench } from './keystroke-bench.js';
import { describeMachine } from './machine.js';
import { runProxyBench, type StartOurs } from './proxy-bench.js';
import { proxyTargets, writeDoc, type BenchResults } from './report.js';

const PARTS = ['image', 'proxy', 'console', 'keys', 'frames', 'direct'] as const;
type Part = (typeof PARTS)[number];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function loadOurProxy(): Promise<StartOurs | undefined> {
  if (!existsSync(join(root, 'proxy', 'src', 'server.ts'))) return undefined;
  return (await import('./our-proxy.js')).startOurProxy;
}

async function main(): Promise<number> {
  const program = new Command('bench')
    .description('Benchmarks with same-run baselines; writes bench/results.json and docs/benchmarks.md')
    .addOption(new Option('--only <part>', 'run one part only').choices(PARTS))
    .option('--quick', 'smaller sizes (a partial, faster run)', false)
    .option('--results <file>', 'results file', join(root, 'bench', 'results.json'))
    .option('--doc <file>', 'markdown file whose generated block is replaced', join(root, 'docs', 'benchmarks.md'));
  program.parse();
  const opts = program.opts<{
    only?: Part;
    quick: boolean;
    results: string;
    doc: string;
  }>();
  const runs = (part: Part): boolean => opts.only === undefined || opts.only === part;

  let previous: Partial<BenchResults> = {};
  if (existsSync(opts.results)) {
    try {
      previous = JSON.parse(readFileSync(opts.results, 'utf8')) as Partial<BenchResults>;
    } catch {
      process.stderr.write(`bench: ignoring unreadable ${opts.results}\n`);
    }
  }
  const results: BenchResults = {
    machine: describeMachine(),
    date: { ...previous.date },
    quick: { ...previous.quick },
    ...(previous.image ? { image: previous.image } : {}),
    ...(previous.proxy ? { proxy: previous.proxy } : {}),
    ...(previous.console ? { console: previous.console } : {}),
    ...(previous.keys ? { keys: previous.keys } : {}),
    ...(previous.frames ? { frames: previous.frames } : {}),
    ...(previous.direct ? { direct: previous.direct } : {}),
  };
  const save = (): void => {
    const tmp = `${opts.results}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
    renameSync(tmp, opts.results);
    writeDoc(opts.doc, results);
  };

  if (runs('image')) {
    const image = process.env.BMC_CONSOLE_IMAGE ?? 'localhost/bmc-console:latest';
    try {
      results.image = measureImage(image);
      results.date.image = new Date().toISOString();
      save();
    } catch (err) {
      process.stderr.write(`bench: image size of ${image} not measured: ${(err as Error).message.split('\n')[0]}\n`);
    }
  }
  if (runs('proxy')) {
    results.proxy = await runProxyBench(opts.quick, await loadOurProxy());
    results.date.proxy = new Date().toISOString();
    results.quick.proxy = opts.quick;
    save();
    for (const t of proxyTargets(results.proxy))
      process.stderr.write(
        `bench: ${t.name}: ${t.value} (goal ${t.goal}) ${t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED'}\n`,
      );
  }
  if (runs('console')) {
    results.console = await runConsoleBench(opts.quick);
    results.date.console = new Date().toISOString();
    results.quick.console = opts.quick;
    save();
  }
  if (runs('keys')) {
    results.keys = await runKeystrokeBench(opts.quick);
    results.date.keys = new Date().toISOString();
    results.quick.keys = opts.quick;
    save();
  }
  if (runs('frames')) {
    results.frames = await runFramesBench(opts.quick);
    results.date.frames = new Date().toISOString();
    results.quick.frames = opts.quick;
    save();
  }
  if (runs('direct')) {
    results.direct = await runDirectBench(opts.quick);
    results.date.direct = new Date().toISOString();
    results.quick.direct = opts.quick;
    save();
  }
  process.stderr.write(`bench: wrote ${opts.results} and ${opts.doc}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
