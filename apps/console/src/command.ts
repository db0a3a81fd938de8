import type { ApiClient } from './api-client.js';
import type { ParsedArgs } from './args.js';

export interface CommandContext {
  api: ApiClient;
  /** `--json`: machine-readable output on stdout. */
  json: boolean;
  out(text: string): void;
  /** For people, on stderr: progress of long commands, warnings, local failures (stdout stays clean for --json). */
  err(text: string): void;
  /** The environment (for secrets that must not appear on a command line). */
  env: Record<string, string | undefined>;
}

export interface Command {
  /** As the runbooks write it: `risk:kill-switch:activate`. */
  name: string;
  summary: string;
  /** Usage lines shown by `--help`. */
  usage: string[];
  /** Options that take a value (besides the global ones). */
  values: readonly string[];
  /** Options without value (besides `--json` and `--help`). */
  flags: readonly string[];
  /** Returns the exit code. Throws UsageError for bad input, ApiError/ApiUnreachable from the API. */
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}
