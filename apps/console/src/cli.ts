import { ApiClient, ApiError, ApiUnreachable, EXIT } from './api-client.js';
import { parseArgs, UsageError } from './args.js';
import { COMMANDS } from './commands/index.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
}

const DEFAULT_API_URL = 'http://127.0.0.1:3100';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Garde operators console',
    '',
    'Usage: bin/console <command> [options]      bin/console <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --json (machine-readable output) and --help.',
    `Environment: GARDE_API_URL (default ${DEFAULT_API_URL}), GARDE_TOKEN (bearer token).`,
    'Exit codes: 0 success, 1 refused or failed, 2 usage error, 3 API unreachable.',
  ].join('\n');
}

/** Runs one command line; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(help());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const near = COMMANDS.filter((c) => c.name.startsWith(name.split(':')[0] ?? name)).map((c) => c.name);
    io.err(`unknown command "${name}"${near.length ? `; did you mean: ${near.join(', ')}` : ''}\nRun bin/console help for the list.`);
    return EXIT.USAGE;
  }
  const json = rest.includes('--json');
  try {
    const args = parseArgs(rest, { values: command.values, flags: [...command.flags, 'json', 'help'] });
    if (args.options.get('help') === true) {
      io.out([`${command.name}: ${command.summary}`, '', 'Usage:', ...usageLines(command.usage)].join('\n'));
      return EXIT.OK;
    }
    const api = new ApiClient(io.env.GARDE_API_URL ?? DEFAULT_API_URL, io.env.GARDE_TOKEN);
    return await command.run(args, { api, json, out: (text) => io.out(text), err: (text) => io.err(text), env: io.env });
  } catch (err) {
    if (err instanceof UsageError) {
      report(io, json, 'USAGE', err.message, ['Usage:', ...usageLines(command.usage)].join('\n'));
      return EXIT.USAGE;
    }
    if (err instanceof ApiError) {
      const details = err.body.details
        ? Object.entries(err.body.details)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' ')
        : '';
      report(io, json, err.body.code, err.body.message, details, err.body.details);
      return err.exitCode;
    }
    if (err instanceof ApiUnreachable) {
      report(io, json, 'UNREACHABLE', err.message);
      return EXIT.UNREACHABLE;
    }
    report(io, json, 'INTERNAL', err instanceof Error ? err.message : String(err));
    return EXIT.REFUSED;
  }
}

/** Usage lines get the `bin/console` prefix; indented lines are option notes. */
const usageLines = (usage: string[]): string[] => usage.map((u) => (u.startsWith(' ') ? `  ${u}` : `  bin/console ${u}`));

/** Errors go to stderr: a line for people, or `{"error":{…}}` with --json. */
function report(io: CliIo, json: boolean, code: string, message: string, extra?: string, details?: Record<string, unknown>): void {
  if (json) io.err(JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } }));
  else io.err(`error [${code}]: ${message}${extra ? `\n${extra}` : ''}`);
}
