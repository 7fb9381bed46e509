import { helpText, parseArgv, UsageError, type CommandSpec } from '../../../src/cli/argv';
import { COMMAND_LINE } from '../../../src/cli/commands';

// The command-line grammar of `jailnet` (src/cli/argv.ts): strict parsing, and --help from the declarations.

const spec: CommandSpec = {
  name: 'tool',
  describe: 'a tool',
  subcommands: [
    { name: 'net', describe: 'networks', subcommands: [{ name: 'ls', aliases: ['list'], describe: 'list', options: [{ name: 'json', type: 'boolean' }] }] },
    {
      name: 'attach',
      describe: 'attach',
      positionals: [{ name: 'jail', required: true }],
      options: [
        { name: 'network', alias: 'n', type: 'string', array: true, default: ['default'] },
        { name: 'mtu', type: 'number' },
        { name: 'resolv-conf', type: 'boolean', default: true },
      ],
    },
    { name: 'validate', describe: 'validate', positionals: [{ name: 'files', variadic: true }] },
  ],
};

const run = (argv: string[]) => {
  const p = parseArgv(spec, argv, 'tool');
  if (p.kind !== 'run') throw new Error('help');
  return { command: p.command.name, args: p.args };
};

test('commands, aliases, positionals and the kinds of options', () => {
  expect(run(['net', 'list', '--json'])).toEqual({ command: 'ls', args: { json: true } });
  expect(run(['attach', 'web'])).toEqual({ command: 'attach', args: { jail: 'web', network: ['default'], 'resolv-conf': true } });
  expect(run(['attach', '-n', 'a', 'web', '--network=b', '--mtu', '1400', '--no-resolv-conf']).args).toEqual({ jail: 'web', network: ['a', 'b'], mtu: 1400, 'resolv-conf': false });
  expect(run(['validate', 'x', 'y']).args).toEqual({ files: ['x', 'y'] });
  expect(run(['validate']).args).toEqual({ files: [] });
});

test.each([
  [['attach'], 'missing argument <jail>'],
  [['attach', 'web', 'more'], 'unexpected argument: more'],
  [['attach', 'web', '--bogus'], 'unknown option --bogus'],
  [['attach', 'web', '--mtu'], '--mtu needs a value'],
  [['attach', 'web', '--mtu', 'big'], '--mtu needs a number, not "big"'],
  [['attach', 'web', '--mtu', '1', '--mtu', '2'], '--mtu is given twice'],
  [['nothing'], 'unknown command "nothing"'],
  [[], 'name a command'],
  [['net'], 'name a command (tool net --help lists them)'],
])('%j is refused: %s', (argv, message) => {
  expect(() => parseArgv(spec, argv, 'tool')).toThrow(UsageError);
  expect(() => parseArgv(spec, argv, 'tool')).toThrow(message);
});

test('--help anywhere gives the help of the command named before it, in the layout the manual-pages test reads', () => {
  expect(parseArgv(spec, ['attach', '--help', '--bogus'], 'tool')).toEqual({ kind: 'help', text: helpText(spec.subcommands?.[1] as CommandSpec, ['tool', 'attach']) });
  const top = parseArgv(COMMAND_LINE, ['--help']);
  expect(top.kind === 'help' && top.text).toContain('Commands:\n  jailnet network  ');
  const attach = parseArgv(COMMAND_LINE, ['attach', '--help']);
  expect(attach.kind === 'help' && attach.text.split('\n')).toEqual(expect.arrayContaining(['Positionals:', 'Options:', expect.stringMatching(/^ {2}-n, --network +\[array\] \[default: \["default"\]\]$/), expect.stringMatching(/^ {6}--json +\[boolean\]$/)]));
});
