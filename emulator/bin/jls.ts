import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { jlsMain } from '../src/jls';

runTool('jls', withUsage(jlsMain));
