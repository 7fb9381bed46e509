import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { jailMain } from '../src/jail';

runTool('jail', withUsage(jailMain));
