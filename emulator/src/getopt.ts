import type { EmuContext, ToolIo } from './context';

/**
 * BSD getopt(3): options up to the first operand or "--"; "x:" takes an argument (joined or
 * next word). Errors are FreeBSD's: "tool: illegal option -- x" or "tool: option requires an
 * argument -- x", then the tool's usage text (which, unlike other messages, has no "tool: "
 * prefix), exit status 1 (64 for route).
 */

export class UsageError extends Error {
  constructor(
    readonly text: string,
    readonly exitCode = 1,
  ) {
    super(text);
  }
}

export interface Parsed {
  opts: { opt: string; arg?: string }[];
  rest: string[];
}

export function getopt(tool: string, argv: readonly string[], spec: string, usage: string, usageExit = 1): Parsed {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i] as string;
    if (c === ':') continue;
    takesArg.set(c, spec[i + 1] === ':');
  }
  const opts: Parsed['opts'] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const w = argv[i] as string;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (let j = 1; j < w.length; j++) {
      const c = w[j] as string;
      const needs = takesArg.get(c);
      if (needs === undefined) throw new UsageError(`${tool}: illegal option -- ${c}\n${usage}`, usageExit);
      if (!needs) {
        opts.push({ opt: c });
        continue;
      }
      let arg = w.slice(j + 1);
      if (arg === '') {
        if (i + 1 >= argv.length) throw new UsageError(`${tool}: option requires an argument -- ${c}\n${usage}`, usageExit);
        arg = argv[++i] as string;
      }
      opts.push({ opt: c, arg });
      break;
    }
  }
  return { opts, rest: argv.slice(i) };
}

type Main = (ctx: EmuContext, argv: string[], io: ToolIo) => Promise<number>;

/** Prints a UsageError as FreeBSD does (no "tool: " prefix on the usage text). */
export function withUsage(main: Main): Main {
  return async (ctx, argv, io) => {
    try {
      return await main(ctx, argv, io);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.err(`${err.text}\n`);
      return err.exitCode;
    }
  };
}
