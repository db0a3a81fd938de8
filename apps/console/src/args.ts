/** Parsed command line: `--key=value`, `--key value` (for declared value options), `--flag`, positionals. */
export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export class UsageError extends Error {}

/**
 * Parses argv against the options a command declares: unknown options are usage errors, so a typo
 * (`--resaon`) never silently drops a mandatory field.
 */
export function parseArgs(argv: string[], spec: { values: readonly string[]; flags: readonly string[] }): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options.set(name, true);
    } else if (spec.values.includes(name)) {
      const value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value (--${name}=…)`);
      if (options.has(name)) throw new UsageError(`--${name} given twice`);
      options.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, options };
}

export const str = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
};
export const flag = (args: ParsedArgs, name: string): boolean => args.options.get(name) === true;
