import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { jexecMain } from '../src/jexec';

runTool('jexec', withUsage(jexecMain));
