import { EXIT } from './api-client.js';
import { runCli } from './cli.js';

// A reader that stops early (`bin/console bot:status --all | head`) closes the pipe: stop there quietly,
// as command-line tools do, with the exit code the command has set so far (its work is done or refused
// by then: output comes last), instead of an unhandled 'error' event and its stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? EXIT.OK);
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
});
