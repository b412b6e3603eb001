/** What a command may touch: arguments, environment, output streams. Passed in so tests can run commands in-process. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Exit codes shared by every command. */
export const EXIT = Object.freeze({
  OK: 0,
  /** The bundle has errors (validation failed). */
  INVALID: 1,
  /** The bundle cannot be read or parsed, or the command line is wrong. */
  UNREADABLE: 2,
  USAGE: 2,
});

/** Writes a command's help on stdout; exit 0. */
export function printHelp(io: CliIo, help: string): number {
  io.stdout.write(help);
  return EXIT.OK;
}

/** Writes what is wrong with a command line, one problem a line, then the command's usage, on stderr; exit 2. */
export function usageError(io: CliIo, problems: readonly string[], usage: string): number {
  io.stderr.write(`${problems.join('\n')}\n${usage}`);
  return EXIT.USAGE;
}
