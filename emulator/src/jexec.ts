import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { EMU_DIR_ENV, EMU_JAIL_ENV, ToolError, type EmuContext, type ToolIo } from './context';
import { getopt } from './getopt';
import { findJail, isJid, jailNotFoundMessage } from './jails';
import { IP } from './netns';
import { forgetProc, recordProc } from './procs';

/**
 * jexec(8). An emulated FreeBSD tool given as the program (/sbin/ifconfig, route, sysctl,
 * pfctl, jls...) runs as that emulated tool in the jail's context; any other program runs for
 * real inside the jail's network namespace (`ip netns exec`), with stdio and exit status passed
 * through, and signals forwarded. The child gets PR_SET_PDEATHSIG (setpriv), so killing jexec
 * with SIGKILL also kills it.
 */

/**
 * jexec.c's usage() of FreeBSD 13 and 14 (printed with exit status 1). `-d working-directory`
 * came later; the emulator accepts it but prints the 14.x text.
 */
const USAGE = 'usage: jexec [-l] [-u username | -U username] jail [command ...]';

/** The emulated tools and their FreeBSD paths (src/freebsd/tools.ts). */
const TOOLS: Record<string, string> = {
  '/sbin/ifconfig': 'ifconfig',
  '/sbin/route': 'route',
  '/sbin/sysctl': 'sysctl',
  '/sbin/pfctl': 'pfctl',
  '/usr/sbin/jail': 'jail',
  '/usr/sbin/jexec': 'jexec',
  '/usr/sbin/jls': 'jls',
  '/usr/bin/netstat': 'netstat',
};

const SETPRIV = '/usr/bin/setpriv';
const SH = '/bin/sh';
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

function emulatedTool(prog: string): string | undefined {
  if (prog in TOOLS) return TOOLS[prog];
  if (!prog.includes('/') && Object.values(TOOLS).includes(prog)) return prog;
  return undefined;
}

/** execvp(3)'s search. */
function resolve(prog: string): string | undefined {
  const ok = (p: string) => {
    try {
      if (!statSync(p).isFile()) return false;
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (prog.includes('/')) return ok(prog) ? prog : undefined;
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir || '.', prog);
    if (ok(p)) return p;
  }
  return undefined;
}

/**
 * jexec attaches to the jail (jail_attach(2), sys/kern/kern_jail.c), which changes the process's
 * root to the jail's `path`: a program in a jail with a root of its own reads that root's
 * /etc/resolv.conf (usr.sbin/jexec/jexec.c, lib/libc/resolv/res_init.c _PATH_RESCONF). Programs
 * here run on the Linux filesystem; that one file is put in place: in the private mount namespace
 * `ip netns exec` gives the program, `<path>/etc/resolv.conf` is bind-mounted over
 * /etc/resolv.conf before the program is executed. Nothing else of the jail's root is used.
 */
function jailResolvConf(root: string): string[] {
  const file = join(root, 'etc/resolv.conf');
  if (root === '/' || !existsSync(file)) return [];
  return [SH, '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', file];
}

export async function jexecMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  const { opts, rest } = getopt('jexec', argv, 'd:lnu:U:', USAGE);
  if (rest.length === 0) {
    io.err(`${USAGE}\n`);
    return 1;
  }
  const jailArg = rest[0] as string;
  const jail = findJail(ctx, jailArg);
  // jexec.c: errx with jail_errmsg when jail_getid() fails (a name); a JID is only tried by
  // jail_attach(2): err(1, "jail_attach(%d)").
  if (!jail) throw new ToolError(isJid(jailArg) ? `jail_attach(${Number(jailArg)}): Invalid argument` : jailNotFoundMessage(jailArg));
  const command = rest.length > 1 ? rest.slice(1) : ['/bin/sh'];
  const prog = command[0] as string;
  const cwd = opts.find((o) => o.opt === 'd')?.arg;

  let file: string;
  let args: string[];
  const env = { ...process.env };
  const tool = emulatedTool(prog);
  if (tool) {
    file = ctx.config.node;
    args = [join(ctx.config.toolsDir, `${tool}.js`), ...command.slice(1)];
    env[EMU_DIR_ENV] = ctx.dir;
    env[EMU_JAIL_ENV] = jail.name;
  } else {
    const path = resolve(prog);
    if (!path) throw new ToolError(`execvp: ${prog}: No such file or directory`);
    file = SETPRIV;
    args = ['--pdeathsig', 'KILL', '--', IP, 'netns', 'exec', jail.ns, ...jailResolvConf(jail.path), path, ...command.slice(1)];
    delete env[EMU_JAIL_ENV];
  }
  const child = spawn(file, args, { stdio: 'inherit', env, ...(cwd ? { cwd } : {}) });
  if (child.pid) recordProc(ctx, jail.jid, child.pid);
  const forward = (s: NodeJS.Signals) => child.kill(s);
  for (const s of FORWARDED) process.on(s, forward);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit, reject) => {
    child.on('error', reject);
    child.on('exit', (c, s) => resolveExit({ code: c, signal: s }));
  });
  if (child.pid) forgetProc(ctx, jail.jid, child.pid);
  for (const s of FORWARDED) process.removeListener(s, forward);
  if (signal) {
    // Die of the same signal once the trace is written, as the exec'd program would have.
    process.once('beforeExit', () => {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    });
    return 128 + (osConstants.signals[signal] ?? 0);
  }
  return code ?? 1;
}
