import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { AuditExportManifest, describeIssues, type AuditPurgeResult, type AuditSigner } from '@garde/contracts';
import {
  AUDIT_EXPORT_FORMATS,
  ExportChainChecker,
  ExportRecordSplitter,
  ed25519KeyId,
  signedStatementBytes,
  verifyEd25519,
  type AuditExportFormat,
  type ExportCheck,
} from '@garde/domain';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError, type ParsedArgs } from '../args.js';
import type { Command, CommandContext } from '../command.js';

/**
 * Exports of the audit trail (RB-013). The audit-service signs; the console writes the file and checks
 * it offline. The manifest is signed by the service over values it computed itself (it never signs a
 * digest sent by a client), so the only thing a verifier must trust is the public key: a manifest signed
 * by anyone else's key is detected by pinning the service's key (`--public-key`, `audit:public-key`).
 */

/** Sealing and verifying read every row of the period: wait as long as the gateway does. */
const LONG_REQUEST_MS = 610_000;
/** A progress line on stderr at most this often (and when done). */
const PROGRESS_EVERY_MS = 2000;

/** `--from=2026-01-01` or a full ISO-8601 time, as an ISO string (UTC). */
export function isoTime(args: ParsedArgs, name: string, required = true): string | undefined {
  const value = str(args, name);
  if (value === undefined) {
    if (required) throw new UsageError(`--${name} is required (an ISO-8601 date or time, e.g. 2026-01-01 or 2026-01-01T00:00:00Z)`);
    return undefined;
  }
  // A date alone is midnight UTC; a time must say its zone (no silent local time).
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new UsageError(`--${name} must be an ISO-8601 date (UTC) or a time with its zone, such as 2026-01-01 or 2026-01-01T09:00:00Z, not "${value}"`);
  }
  return new Date(value).toISOString();
}

/** A failure found by the console itself (a file, a check): exit 1, on stderr, as JSON with --json. */
function fail(ctx: CommandContext, code: string, message: string): number {
  ctx.err(ctx.json ? JSON.stringify({ error: { code, message } }) : `error [${code}]: ${message}`);
  return EXIT.REFUSED;
}

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

export const auditExport: Command = {
  name: 'audit:export',
  summary: 'Export the audit trail of a period (JSONL or CSV) with a manifest signed by the audit-service (RB-013)',
  usage: [
    'audit:export --from=<ISO-8601> --to=<ISO-8601> --output=<file> [--format=jsonl|csv] [--force] [--json]',
    '  rows recorded at or after --from and before --to; the manifest goes beside the file: <file>.manifest.json',
    '  check it with: bin/console audit:verify --export=<file> --public-key=<key>',
  ],
  values: ['from', 'to', 'format', 'output'],
  flags: ['force'],
  async run(args, ctx) {
    const from = isoTime(args, 'from')!;
    const to = isoTime(args, 'to')!;
    const output = str(args, 'output');
    if (!output) throw new UsageError('--output=<file> is required');
    const format = (str(args, 'format') ?? 'jsonl') as AuditExportFormat;
    if (!AUDIT_EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be jsonl or csv, not "${format}"`);
    if (Date.parse(to) <= Date.parse(from)) throw new UsageError('--to must be after --from');
    const manifestPath = `${output}.manifest.json`;
    if (!flag(args, 'force')) {
      const taken = [output, manifestPath].filter((p) => existsSync(p));
      if (taken.length) return fail(ctx, 'ALREADY_EXISTS', `${taken.join(' and ')} already exist(s): choose another --output or add --force`);
    }

    // First the signed manifest: the audit-service reads and verifies the whole period (nothing signed if it does not verify).
    ctx.err(`audit:export: the audit-service verifies and signs ${from} to ${to}…`);
    const manifest = await ctx.api.call<AuditExportManifest>('POST', '/api/v1/audit/exports', { from, to, format }, LONG_REQUEST_MS);
    ctx.err(
      `audit:export: ${manifest.rows} event(s), sequences ${manifest.firstSequence}-${manifest.lastSequence}, signed by key ${manifest.signer.keyId}; writing ${output}`,
    );

    // Then the file, streamed, hashed as it is written; it takes its name only once it matches the manifest.
    const partial = `${output}.partial`;
    const file = await open(partial, 'w');
    const sha = createHash('sha256');
    let bytes = 0;
    let lastReport = Date.now();
    const progress = () =>
      ctx.err(`audit:export: ${mb(bytes)} / ${mb(manifest.fileBytes)} (${manifest.fileBytes ? Math.floor((bytes * 100) / manifest.fileBytes) : 100} %)`);
    try {
      const query = new URLSearchParams({ format, from: String(manifest.firstSequence), to: String(manifest.lastSequence) });
      for await (const chunk of ctx.api.download(`/api/v1/audit/exports/file?${query.toString()}`)) {
        await file.write(chunk);
        sha.update(chunk);
        bytes += chunk.length;
        if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = Date.now();
          progress();
        }
      }
      await file.sync();
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    } finally {
      await file.close();
    }
    const digest = sha.digest('hex');
    if (bytes !== manifest.fileBytes || digest !== manifest.fileSha256) {
      await rm(partial, { force: true });
      return fail(
        ctx,
        'EXPORT_MISMATCH',
        `the file received (${bytes} bytes, SHA-256 ${digest}) is not the one the audit-service signed (${manifest.fileBytes} bytes, SHA-256 ${manifest.fileSha256}); nothing kept, run it again`,
      );
    }
    await rename(partial, output);
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    progress();
    const summary = {
      output,
      manifest: manifestPath,
      rows: manifest.rows,
      firstSequence: manifest.firstSequence,
      lastSequence: manifest.lastSequence,
      chainHead: manifest.chainHead,
      fileSha256: digest,
      keyId: manifest.signer.keyId,
    };
    if (ctx.json) ctx.out(JSON.stringify(summary));
    else {
      ctx.out(
        [
          `Exported ${manifest.rows} audit event(s), sequences ${manifest.firstSequence}-${manifest.lastSequence}, to ${output} (${mb(bytes)}, ${format})`,
          `Manifest: ${manifestPath} (chain head ${manifest.chainHead}, SHA-256 ${digest})`,
          `Signed by the audit-service's key ${manifest.signer.keyId} (public key ${manifest.signer.publicKey})`,
        ].join('\n'),
      );
    }
    return EXIT.OK;
  },
};

/** The verdict on an export file and its manifest. */
export interface ExportVerdict {
  valid: boolean;
  file: string;
  manifest: string;
  rows?: number;
  firstSequence?: number;
  lastSequence?: number;
  chainHead?: string;
  fileSha256?: string;
  keyId?: string;
  /** True when the signature was checked against a key given by the verifier, false when only against the manifest's own. */
  keyPinned: boolean;
  /** The record (1 = first line) and the sequence of the first bad one, when the problem is in a record. */
  badRecord?: number;
  badSequence?: number;
  problem?: string;
}

/**
 * Checks an export offline (no database, no API): the manifest's Ed25519 signature (against the pinned
 * key), then every byte of the file in one streaming pass (constant memory): each record re-created from
 * its values, the hash chain recomputed from the manifest's previous hash to its chain head, the row
 * count, the sequences, the size and the SHA-256.
 */
export async function verifyExportFile(file: string, opts: { manifestPath?: string | undefined; publicKey?: string | undefined }): Promise<ExportVerdict> {
  const manifestPath = opts.manifestPath ?? `${file}.manifest.json`;
  const verdict: ExportVerdict = { valid: false, file, manifest: manifestPath, keyPinned: opts.publicKey !== undefined };
  const bad = (problem: string, extra: Partial<ExportVerdict> = {}): ExportVerdict => ({ ...verdict, ...extra, valid: false, problem });

  let manifestText: string;
  try {
    manifestText = await readFile(manifestPath, 'utf8');
  } catch (err) {
    return bad(`cannot read the manifest ${manifestPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(manifestText);
  } catch {
    return bad(`${manifestPath} is not JSON`);
  }
  const parsed = AuditExportManifest.safeParse(raw);
  if (!parsed.success) return bad(`${manifestPath} is not a Garde audit export manifest: ${describeIssues(parsed.error)}`);
  const manifest = parsed.data;
  const { signature, ...body } = manifest;
  Object.assign(verdict, { keyId: manifest.signer.keyId, rows: manifest.rows, firstSequence: manifest.firstSequence, lastSequence: manifest.lastSequence });

  // The signature: by the key the verifier trusts (anyone can sign a manifest with a key of their own).
  if (opts.publicKey !== undefined && opts.publicKey !== manifest.signer.publicKey) {
    return bad(`the manifest is signed by key ${ed25519KeyId(manifest.signer.publicKey)}, not by the key you trust (${ed25519KeyId(opts.publicKey)})`);
  }
  if (ed25519KeyId(manifest.signer.publicKey) !== manifest.signer.keyId) return bad('the manifest names a key id that is not its public key’s');
  if (!verifyEd25519(manifest.signer.publicKey, signedStatementBytes('garde-audit-export-manifest-v1', body), signature)) {
    return bad('the manifest’s signature does not verify: the manifest was changed after it was signed');
  }

  // The file, in one pass: bytes hashed as read, records checked as they complete.
  const sha = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const splitter = new ExportRecordSplitter(manifest.format);
  const checker = new ExportChainChecker(manifest.format, { firstSequence: manifest.firstSequence, previousHash: manifest.previousHash });
  let bytes = 0;
  let check: ExportCheck | undefined;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      sha.update(chunk);
      bytes += chunk.length;
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        return bad(`the file is not valid UTF-8 near byte ${bytes}: a byte was changed`);
      }
      for (const record of splitter.push(text)) {
        if (!checker.add(record)) break;
      }
      const early = checker.problem();
      if (early) {
        check = early;
        break;
      }
    }
  } catch (err) {
    return bad(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  check ??= checker.finish(splitter.rest());
  if (!check.ok) {
    const where = check.sequence === undefined ? `record ${check.record}` : `record ${check.record} (sequence ${check.sequence})`;
    return bad(`${where}: ${check.reason}`, { badRecord: check.record, ...(check.sequence === undefined ? {} : { badSequence: check.sequence }) });
  }
  const digest = sha.digest('hex');
  if (check.rows !== manifest.rows) return bad(`the file holds ${check.rows} row(s), the manifest says ${manifest.rows}: rows were removed or added`);
  if (check.lastSequence !== manifest.lastSequence) return bad(`the file ends at sequence ${check.lastSequence}, the manifest at ${manifest.lastSequence}`);
  if (check.head !== manifest.chainHead) return bad(`the chain head recomputed from the file (${check.head}) is not the manifest's (${manifest.chainHead})`);
  if (bytes !== manifest.fileBytes || digest !== manifest.fileSha256) {
    return bad(
      `the file's SHA-256 (${digest}, ${bytes} bytes) is not the manifest's (${manifest.fileSha256}, ${manifest.fileBytes} bytes): a byte was changed`,
    );
  }
  return { ...verdict, valid: true, chainHead: check.head, fileSha256: digest };
}

/** `audit:verify --export=<file>`: the human lines and the exit code. */
export async function runExportVerify(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const file = str(args, 'export')!;
  const publicKey = str(args, 'public-key') ?? ctx.env.GARDE_AUDIT_PUBLIC_KEY;
  const trustManifestKey = flag(args, 'trust-manifest-key');
  if (publicKey === undefined && !trustManifestKey) {
    throw new UsageError(
      "give the audit-service's public key: --public-key=<base64> (bin/console audit:public-key shows it) or GARDE_AUDIT_PUBLIC_KEY; " +
        '--trust-manifest-key checks only that the file matches its manifest, not who signed it',
    );
  }
  // A key that is not one proves nothing: the verification fails (exit 1), as with the wrong key.
  if (publicKey !== undefined && Buffer.from(publicKey, 'base64').length !== 32) {
    return fail(
      ctx,
      'INVALID_KEY',
      'the key given is not an Ed25519 public key (32 bytes in base64, as bin/console audit:public-key shows it): nothing verified',
    );
  }
  const verdict = await verifyExportFile(file, { manifestPath: str(args, 'manifest'), publicKey });
  if (ctx.json) ctx.out(JSON.stringify(verdict));
  else if (verdict.valid) {
    ctx.out(
      [
        `Export valid: ${file}: ${verdict.rows} event(s), sequences ${verdict.firstSequence}-${verdict.lastSequence}, chain head ${verdict.chainHead}`,
        `SHA-256 ${verdict.fileSha256}, manifest ${verdict.manifest} signed by key ${verdict.keyId}${verdict.keyPinned ? ' (the key you gave)' : ''}`,
      ].join('\n'),
    );
    if (!verdict.keyPinned) {
      ctx.err('warning: the signature was checked against the key written in the manifest only: this proves the file matches its manifest, not who signed it');
    }
  } else ctx.out(`Export INVALID: ${file}: ${verdict.problem}`);
  return verdict.valid ? EXIT.OK : EXIT.REFUSED;
}

export const auditPublicKey: Command = {
  name: 'audit:public-key',
  summary: "The audit-service's Ed25519 public key, which signs checkpoints and export manifests (pin it to verify exports)",
  usage: ['audit:public-key [--json]'],
  values: [],
  flags: [],
  async run(_args, ctx) {
    const signer = await ctx.api.call<AuditSigner & { trusted: AuditSigner[] }>('GET', '/api/v1/audit/signer');
    if (ctx.json) ctx.out(JSON.stringify(signer));
    else {
      ctx.out(
        [
          `${signer.algorithm} key ${signer.keyId}: ${signer.publicKey}`,
          ...signer.trusted.map((k) => `still trusted (earlier key) ${k.keyId}: ${k.publicKey}`),
        ].join('\n'),
      );
    }
    return EXIT.OK;
  },
};

export const auditPurge: Command = {
  name: 'audit:purge',
  summary: 'Delete audit rows older than the retention (5 years by default), from the start of the chain through a signed checkpoint (admin)',
  usage: [
    'audit:purge --before=<ISO-8601> --reason="…" [--dry-run] [--json]',
    '  refused for any row younger than the retention; the kept chain still verifies from the checkpoint',
  ],
  values: ['before', 'reason'],
  flags: ['dry-run'],
  async run(args, ctx) {
    const before = isoTime(args, 'before')!;
    const reason = str(args, 'reason');
    if (!reason || reason.trim().length < 3) throw new UsageError('a reason is required: --reason="why these rows go"');
    const result = await ctx.api.call<AuditPurgeResult>('POST', '/api/v1/audit/purge', { before, reason, dryRun: flag(args, 'dry-run') }, LONG_REQUEST_MS);
    if (ctx.json) ctx.out(JSON.stringify(result));
    else if (result.rows === 0)
      ctx.out(`Nothing to purge (retention ${result.retentionDays} days, cutoff ${result.cutoff}): ${result.note ?? 'no row may go'}`);
    else {
      const anchor = result.anchor!;
      ctx.out(
        [
          `${result.dryRun ? 'Would purge' : 'Purged'} ${result.rows} audit row(s), sequences ${result.fromSequence}-${result.throughSequence} (recorded before ${result.cutoff}; retention ${result.retentionDays} days)`,
          `The kept chain starts at sequence ${anchor.sequence + 1}, anchored by the checkpoint at ${anchor.sequence} signed ${anchor.signedAt} by key ${anchor.keyId}`,
        ].join('\n'),
      );
    }
    return EXIT.OK;
  },
};
