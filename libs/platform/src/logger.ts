import type { LoggerService } from '@nestjs/common';
import { maskSecrets } from './config.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * Structured JSON logs, one object per line on stdout, secrets redacted.
 * Also Nest's logger (the `context` argument becomes a field).
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly minLevel: LogLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  child(context: string): ContextLogger {
    return new ContextLogger(this, context);
  }

  emit(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (LEVELS[level] < LEVELS[this.minLevel]) return;
    const safe = maskSecrets(fields) as Record<string, unknown>;
    this.write(JSON.stringify({ time: new Date().toISOString(), level, service: this.service, msg: maskSecrets(msg), ...safe }));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', String(message), nestContext(rest));
  }
  error(message: unknown, ...rest: unknown[]): void {
    const fields = nestContext(rest);
    if (message instanceof Error) {
      this.emit('error', message.message, { ...fields, stack: message.stack });
      return;
    }
    const stack = rest.find((r) => typeof r === 'string' && r.includes('\n    at '));
    this.emit('error', String(message), stack ? { ...fields, stack } : fields);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', String(message), nestContext(rest));
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', String(message), nestContext(rest));
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', String(message), nestContext(rest));
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('fatal', String(message), nestContext(rest));
  }
}

/** A logger bound to a component name. */
export class ContextLogger {
  constructor(
    private readonly root: JsonLogger,
    private readonly context: string,
  ) {}
  debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.emit('debug', msg, { context: this.context, ...fields });
  }
  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.emit('info', msg, { context: this.context, ...fields });
  }
  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.emit('warn', msg, { context: this.context, ...fields });
  }
  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.emit('error', msg, { context: this.context, ...fields });
  }
  fatal(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.emit('fatal', msg, { context: this.context, ...fields });
  }
}

function nestContext(rest: unknown[]): Record<string, unknown> {
  const last = rest.at(-1);
  return typeof last === 'string' && !last.includes('\n') ? { context: last } : {};
}

export function errorFields(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { error: err.message, stack: err.stack } : { error: String(err) };
}
