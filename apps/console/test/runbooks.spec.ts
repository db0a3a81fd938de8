import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseArgs } from '../src/args.js';
import { runCli } from '../src/cli.js';
import { COMMANDS } from '../src/commands/index.js';

/**
 * The runbooks are what operators type under stress: every `bin/console …` they show must be a real
 * command with real options (DESIGN §9), and every relative link must lead somewhere.
 */

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const RUNBOOKS_DIR = path.join(REPO_ROOT, 'runbooks');

/** Options every command takes (cli.ts adds them to each command's flags). */
const GLOBAL_FLAGS = ['json', 'help'];

interface Invocation {
  /** 1-based line of the markdown file where the invocation starts. */
  line: number;
  where: 'code block' | 'inline code';
  /** Shell words after `bin/console`, unquoted: the command name first. */
  argv: string[];
}

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

interface Segment {
  kind: 'code' | 'text';
  /** 1-based line of the segment's first line. */
  line: number;
  text: string;
}

/** Splits markdown into fenced code blocks (``` or ~~~, possibly indented in a list) and the rest. */
function splitMarkdown(markdown: string): Segment[] {
  const lines = markdown.split('\n');
  const segments: Segment[] = [];
  let text: string[] = [];
  let textStart = 1;
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})/.exec(lines[i]!);
    if (!open) {
      text.push(lines[i]!);
      continue;
    }
    if (text.length) segments.push({ kind: 'text', line: textStart, text: text.join('\n') });
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(lines[j]!);
    }
    segments.push({ kind: 'code', line: i + 2, text: body.join('\n') });
    i = j;
    text = [];
    textStart = j + 2;
  }
  if (text.length) segments.push({ kind: 'text', line: textStart, text: text.join('\n') });
  return segments;
}

/**
 * Reads shell words from `source` at `start` until the end of the simple command (`|`, `;`, `&`, `)`,
 * a newline, a comment or a redirection). Quotes and backslashes are removed as the shell would;
 * `$VAR` stays as written.
 */
function shellWords(source: string, start: number): string[] {
  const words: string[] = [];
  let i = start;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t';
  while (i < source.length) {
    while (isSpace(source[i]) || (source[i] === '\\' && source[i + 1] === '\n')) i += source[i] === '\\' ? 2 : 1;
    const c = source[i];
    if (c === undefined || c === '\n' || c === '|' || c === ';' || c === '&' || c === ')' || c === '#' || c === '>') break;
    let word = '';
    while (i < source.length) {
      const ch = source[i]!;
      if (isSpace(ch) || ch === '\n' || ch === '|' || ch === ';' || ch === '&' || ch === ')') break;
      if (ch === '\\') {
        if (source[i + 1] === '\n') break;
        word += source[i + 1] ?? '';
        i += 2;
      } else if (ch === "'") {
        const end = source.indexOf("'", i + 1);
        word += source.slice(i + 1, end < 0 ? undefined : end);
        i = end < 0 ? source.length : end + 1;
      } else if (ch === '"') {
        i += 1;
        while (i < source.length && source[i] !== '"') {
          if (source[i] === '\\' && '"\\$`'.includes(source[i + 1] ?? '')) i += 1;
          word += source[i];
          i += 1;
        }
        i += 1;
      } else {
        word += ch;
        i += 1;
      }
    }
    if (/^\d?>/.test(word)) break; // 2>&1, >out.json: a redirection, not an argument
    words.push(word);
  }
  return words;
}

const PROGRAM = /(^|[\s(;|&`$])bin\/console(?=[ \t])/g;

/** Every `bin/console …` of a piece of shell text, with the line it starts on. */
function invocationsIn(shell: string, firstLine: number, where: Invocation['where']): Invocation[] {
  const found: Invocation[] = [];
  for (const match of shell.matchAll(PROGRAM)) {
    const start = match.index + match[0].length;
    const argv = shellWords(shell, start);
    const line = firstLine + (shell.slice(0, match.index + match[1]!.length).match(/\n/g)?.length ?? 0);
    found.push({ line, where, argv });
  }
  return found;
}

/** Every `bin/console …` in the code blocks and inline code of a markdown document. */
function extractInvocations(markdown: string): Invocation[] {
  const found: Invocation[] = [];
  for (const segment of splitMarkdown(markdown)) {
    if (segment.kind === 'code') {
      found.push(...invocationsIn(segment.text, segment.line, 'code block'));
      continue;
    }
    for (const span of segment.text.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)) {
      const line = segment.line + (segment.text.slice(0, span.index).match(/\n/g)?.length ?? 0);
      found.push(...invocationsIn(span[2]!.trim(), line, 'inline code'));
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

const isPlaceholder = (word: string) => /^<[^<>]+>$/.test(word);

/** What is wrong with one invocation: an unknown command or option, or arguments the parser refuses. */
function problemsOf(inv: Invocation): string[] {
  const [name, ...args] = inv.argv;
  const at = `line ${inv.line} (${inv.where}): bin/console ${inv.argv.join(' ')}`;
  if (name === undefined) return [`${at}: no command after bin/console`];
  if (name === 'help' || name === '--help' || isPlaceholder(name)) return [];
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return [`${at}: no command "${name}" in bin/console (known: ${COMMANDS.map((c) => c.name).join(', ')})`];
  const problems: string[] = [];
  const known = [...command.values, ...command.flags, ...GLOBAL_FLAGS];
  for (const arg of args) {
    if (!arg.startsWith('--') || arg === '--') continue;
    const option = arg.slice(2).split('=')[0]!;
    if (!known.includes(option)) problems.push(`${at}: ${name} has no option --${option} (it takes: ${known.map((o) => `--${o}`).join(', ')})`);
  }
  if (!problems.length) {
    try {
      parseArgs(args, { values: command.values, flags: [...command.flags, ...GLOBAL_FLAGS] });
    } catch (err) {
      problems.push(`${at}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Placeholders and shell variables stand for a plausible value (a valid id, a long enough token). */
const SAMPLE = 'sample-0123456789abcdef';
const concrete = (argv: string[]) => argv.map((w) => w.replace(/<[^<>\s]+>/g, SAMPLE).replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, SAMPLE));

/** A port nothing listens on: a command that gets past its own checks exits 3 (unreachable), not 2. */
/** The environment a runbook sets up before its commands (API, token, exchange credentials read from env). */
const CLOSED_API = {
  GARDE_API_URL: 'http://127.0.0.1:9',
  GARDE_TOKEN: 'runbook-check-token',
  GARDE_EXCHANGE_API_KEY: 'runbook-check-key',
  GARDE_EXCHANGE_SECRET: 'runbook-check-secret',
};

/** Runs the invocation through the real CLI against a closed port; a usage error (exit 2) is a problem. */
async function usageProblem(inv: Invocation): Promise<string | undefined> {
  const [name] = inv.argv;
  if (name === undefined || name === 'help' || isPlaceholder(name)) return undefined;
  const err: string[] = [];
  const code = await runCli(concrete(inv.argv), { env: CLOSED_API, out: () => undefined, err: (t) => err.push(t) });
  return code === 2 ? `line ${inv.line}: bin/console ${inv.argv.join(' ')}: usage error: ${err.join(' ').split('\n')[0]}` : undefined;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to `-`. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const segment of splitMarkdown(markdown)) {
    if (segment.kind !== 'text') continue;
    for (const m of segment.text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) anchors.add(slug(m[1]!));
  }
  return anchors;
}

/** Relative links (outside code) whose file, or heading anchor in a markdown file, does not exist. */
function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const segment of splitMarkdown(markdown)) {
    if (segment.kind !== 'text') continue;
    const withoutInline = segment.text.replace(/`[^`\n]*`/g, (s) => ' '.repeat(s.length));
    for (const m of withoutInline.matchAll(/\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [rawPath, anchor] = target.split('#') as [string, string | undefined];
      const resolved = rawPath ? path.resolve(path.dirname(file), decodeURIComponent(rawPath.split('?')[0]!)) : file;
      const line = segment.line + (segment.text.slice(0, m.index).match(/\n/g)?.length ?? 0);
      if (!existsSync(resolved)) {
        broken.push(`line ${line}: ${target} (${path.relative(REPO_ROOT, resolved)} does not exist)`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile() && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor.toLowerCase())) {
        broken.push(`line ${line}: ${target} (no heading #${anchor} in ${path.relative(REPO_ROOT, resolved)})`);
      }
    }
  }
  return broken;
}

/** Any `bin/console x:y` anywhere in the text, prose included: the command must exist. */
function unknownCommandsAnywhere(markdown: string): string[] {
  const problems: string[] = [];
  for (const m of markdown.matchAll(/bin\/console\s+([a-z][a-z0-9-]*(?::[a-z0-9-]+)+)/g)) {
    if (!COMMANDS.some((c) => c.name === m[1])) {
      problems.push(`line ${markdown.slice(0, m.index).split('\n').length}: bin/console ${m[1]} is not a command`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The documents
// ---------------------------------------------------------------------------------------------

function markdownFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? markdownFiles(path.join(dir, e.name)) : e.name.endsWith('.md') ? [path.join(dir, e.name)] : []))
    .sort();
}

const DOCUMENTS = [...markdownFiles(RUNBOOKS_DIR), ...[path.join(REPO_ROOT, 'README.md')].filter((f) => existsSync(f))];
const rel = (file: string) => path.relative(REPO_ROOT, file);

/** The sections of the runbook template (runbooks/README.md), in order. */
const TEMPLATE_SECTIONS = [
  '## Symptômes',
  '## Impact',
  '## Diagnostic',
  '## Résolution',
  '### Immédiate (mitigation)',
  '### Définitive',
  '## Vérification',
  '## Post-mortem',
  '## Contacts',
];

describe('runbooks', () => {
  it('has the index and the kill-switch runbook', () => {
    expect(DOCUMENTS.map(rel)).toEqual(expect.arrayContaining(['runbooks/README.md', 'runbooks/rb-014-kill-switch-activation.md']));
  });

  describe.each(DOCUMENTS.map((file) => [rel(file), file]))('%s', (_name, file) => {
    const markdown = readFileSync(file, 'utf8');
    const invocations = extractInvocations(markdown);

    it('names only commands and options bin/console has', () => {
      const problems = [...invocations.flatMap(problemsOf), ...unknownCommandsAnywhere(markdown)];
      expect(problems).toEqual([]);
    });

    it('shows invocations that pass the commands’ own usage checks', async () => {
      const problems: string[] = [];
      for (const inv of invocations) {
        if (problemsOf(inv).length) continue; // reported by the test above
        if (inv.where === 'inline code' && inv.argv.length === 1) continue; // `bin/console bot:status` names a command, it is not a command line
        const problem = await usageProblem(inv);
        if (problem) problems.push(problem);
      }
      expect(problems).toEqual([]);
    });

    it('links only to files (and headings) that exist', () => {
      expect(brokenLinks(file, markdown)).toEqual([]);
    });

    if (/^rb-\d{3}-.*\.md$/.test(path.basename(file))) {
      it('follows the template of the index (sections in order)', () => {
        const headings = splitMarkdown(markdown)
          .filter((s) => s.kind === 'text')
          .flatMap((s) => [...s.text.matchAll(/^(#{1,3}) (.+)$/gm)].map((m) => `${m[1]} ${m[2]!.trim()}`));
        expect(headings[0]).toMatch(/^# RB-\d{3}: ./);
        expect(headings.filter((h) => TEMPLATE_SECTIONS.includes(h))).toEqual(TEMPLATE_SECTIONS);
      });
    }
  });

  it('checks a real number of invocations (the extractor is not silently finding nothing)', () => {
    const all = DOCUMENTS.flatMap((f) => extractInvocations(readFileSync(f, 'utf8')));
    const names = new Set(all.map((i) => i.argv[0]));
    expect(all.length).toBeGreaterThan(20);
    for (const name of ['risk:kill-switch:activate', 'risk:kill-switch:deactivate', 'risk:kill-switch:status', 'bot:status', 'bot:resume', 'audit:verify']) {
      expect(names).toContain(name);
    }
  });
});

describe('alerts', () => {
  const rules = path.join(REPO_ROOT, 'deploy/k8s/prometheus-rules.yaml');

  it('link runbooks that exist (runbook_url → runbooks/…, heading included)', () => {
    if (!existsSync(rules)) return;
    const urls = [...readFileSync(rules, 'utf8').matchAll(/runbook_url:\s*["']?([^\s"']+)/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    const broken = urls.flatMap((url) => {
      const local = /\/blob\/[^/]+\/(runbooks\/.+)$/.exec(url)?.[1];
      if (!local) return [`${url}: not a link to a file under runbooks/`];
      return brokenLinks(path.join(REPO_ROOT, 'alerts.md'), `[runbook](${local})`).map((b) => `${url}: ${b}`);
    });
    expect(broken).toEqual([]);
  });
});

describe('the runbook checker itself', () => {
  const sample = [
    '# RB-999: exemple',
    '',
    'Voir `bin/console bot:status --all --state=HALTED` puis `bin/console risk:exposure:forecast`.',
    '',
    '```bash',
    'bin/console risk:kill-switch:status --json | jq \'.scopes[] | select(.state=="HALTED")\'',
    'bin/console portfolio:snapshot --last=1h',
    'bin/console bot:status --all --since=1h',
    'bin/console risk:kill-switch:activate --global=yes --reason="x"',
    "for id in $(bin/console bot:status --all --state=HALTED --json | jq -r '.bots[].id'); do",
    '  bin/console bot:resume "$id" \\',
    '    --reason="Reprise après kill switch"; done',
    '```',
    '',
    'En prose, bin/console risk:exposure:forecast est aussi repéré.',
    '[mort](./rb-999-nulle-part.md) [ok](./README.md#escalade) [ancre](./README.md#nulle-part) [web](https://example.org)',
  ].join('\n');

  it('extracts invocations from code blocks and inline code, with shell quoting and continuations', () => {
    const argvs = extractInvocations(sample).map((i) => [i.line, i.where, ...i.argv]);
    expect(argvs).toEqual([
      [3, 'inline code', 'bot:status', '--all', '--state=HALTED'],
      [3, 'inline code', 'risk:exposure:forecast'],
      [6, 'code block', 'risk:kill-switch:status', '--json'],
      [7, 'code block', 'portfolio:snapshot', '--last=1h'],
      [8, 'code block', 'bot:status', '--all', '--since=1h'],
      [9, 'code block', 'risk:kill-switch:activate', '--global=yes', '--reason=x'],
      [10, 'code block', 'bot:status', '--all', '--state=HALTED', '--json'],
      [11, 'code block', 'bot:resume', '$id', '--reason=Reprise après kill switch'],
    ]);
  });

  it('reports missing commands, unknown options and malformed ones', () => {
    const problems = extractInvocations(sample).flatMap(problemsOf);
    expect(problems).toEqual([
      expect.stringMatching(/line 3 .*no command "risk:exposure:forecast"/),
      expect.stringMatching(/line 7 .*no command "portfolio:snapshot"/),
      expect.stringMatching(/line 8 .*bot:status has no option --since/),
      expect.stringMatching(/line 9 .*--global takes no value/),
    ]);
    expect(unknownCommandsAnywhere(sample)).toEqual([
      expect.stringContaining('risk:exposure:forecast'),
      expect.stringContaining('portfolio:snapshot'),
      expect.stringContaining('risk:exposure:forecast'),
    ]);
  });

  it('reports usage errors the parser alone does not see', async () => {
    const missingReason = { line: 1, where: 'code block' as const, argv: ['risk:kill-switch:activate', '--global'] };
    const twoScopes = { line: 2, where: 'code block' as const, argv: ['risk:kill-switch:deactivate', '--global', '--bot=<bot-id>', '--reason=x'] };
    const fine = { line: 3, where: 'code block' as const, argv: ['bot:resume', '<bot-id>', '--reason=Reprise'] };
    expect(await usageProblem(missingReason)).toMatch(/reason is required/);
    expect(await usageProblem(twoScopes)).toMatch(/exactly one scope/);
    expect(await usageProblem(fine)).toBeUndefined();
  });

  it('reports dead relative links and unknown anchors, not web links', () => {
    const file = path.join(RUNBOOKS_DIR, 'rb-999-sample.md');
    expect(brokenLinks(file, sample)).toEqual([expect.stringContaining('rb-999-nulle-part.md'), expect.stringContaining('#nulle-part')]);
  });
});
